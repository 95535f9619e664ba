package gcpkmsstub_test

import (
	"bytes"
	"context"
	"hash/crc32"
	"strings"
	"testing"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/coffer-go/coffer/internal/gcpkmsstub"
)

// These tests drive the stand-in with Google's own Cloud KMS client, the
// one gocloud's gcpkms keeper uses, and check it answers as the API's
// reference says Cloud KMS does.

const (
	key1 = "projects/p/locations/global/keyRings/coffer/cryptoKeys/one"
	key2 = "projects/p/locations/global/keyRings/coffer/cryptoKeys/two"
)

func start(t *testing.T) (*gcpkmsstub.Server, *kms.KeyManagementClient) {
	t.Helper()
	s, err := gcpkmsstub.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	for _, k := range []string{key1, key2} {
		if err := s.CreateKey(k); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return s, c
}

func crc(b []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))))
}

func wantCode(t *testing.T, what string, err error, want codes.Code, msg string) {
	t.Helper()
	if got := status.Code(err); got != want || !strings.Contains(status.Convert(err).Message(), msg) {
		t.Errorf("%s: %v; want %v saying %q", what, err, want, msg)
	}
}

// TestRoundTripWithChecksums: Encrypt and Decrypt with every CRC32C field
// the client may send; the responses say the checksums were verified and
// carry the checksums of what they return.
func TestRoundTripWithChecksums(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	plain, aad := []byte("a data key of 32 bytes, or so..."), []byte("coffer")
	enc, err := c.Encrypt(ctx, &kmspb.EncryptRequest{
		Name: key1, Plaintext: plain, AdditionalAuthenticatedData: aad,
		PlaintextCrc32C: crc(plain), AdditionalAuthenticatedDataCrc32C: crc(aad),
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(enc.Ciphertext, plain) {
		t.Error("the ciphertext holds the plaintext")
	}
	wantEnc := &kmspb.EncryptResponse{
		Name:                    key1 + "/cryptoKeyVersions/1",
		Ciphertext:              enc.Ciphertext,
		CiphertextCrc32C:        crc(enc.Ciphertext),
		VerifiedPlaintextCrc32C: true,
		VerifiedAdditionalAuthenticatedDataCrc32C: true,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}
	if diff := cmp.Diff(wantEnc, enc, protocmp.Transform()); diff != "" {
		t.Errorf("EncryptResponse (-want +got):\n%s", diff)
	}
	dec, err := c.Decrypt(ctx, &kmspb.DecryptRequest{
		Name: key1, Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: aad,
		CiphertextCrc32C: crc(enc.Ciphertext), AdditionalAuthenticatedDataCrc32C: crc(aad),
	})
	if err != nil {
		t.Fatal(err)
	}
	wantDec := &kmspb.DecryptResponse{Plaintext: plain, PlaintextCrc32C: crc(plain), UsedPrimary: true, ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE}
	if diff := cmp.Diff(wantDec, dec, protocmp.Transform()); diff != "" {
		t.Errorf("DecryptResponse (-want +got):\n%s", diff)
	}

	// Without checksums in the request, nothing is reported verified, and
	// two encryptions of one plaintext differ.
	again, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: plain, AdditionalAuthenticatedData: aad})
	if err != nil {
		t.Fatal(err)
	}
	if again.VerifiedPlaintextCrc32C || again.VerifiedAdditionalAuthenticatedDataCrc32C {
		t.Errorf("verified flags set for a request without checksums: %v", again)
	}
	if bytes.Equal(again.Ciphertext, enc.Ciphertext) {
		t.Error("two encryptions of one plaintext are equal")
	}
}

// TestChecksumMismatch: a checksum that does not match its field is
// INVALID_ARGUMENT, as the API's data-integrity guide says.
func TestChecksumMismatch(t *testing.T) {
	_, c := start(t)
	ctx := context.Background()
	plain := []byte("plaintext")
	enc, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: plain})
	if err != nil {
		t.Fatal(err)
	}
	bad := wrapperspb.Int64(crc(plain).Value ^ 1)
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: plain, PlaintextCrc32C: bad})
	wantCode(t, "Encrypt with a wrong plaintext_crc32c", err, codes.InvalidArgument, "plaintext_crc32c did not match")
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: plain, AdditionalAuthenticatedData: []byte("x"), AdditionalAuthenticatedDataCrc32C: bad})
	wantCode(t, "Encrypt with a wrong additional_authenticated_data_crc32c", err, codes.InvalidArgument, "additional_authenticated_data_crc32c did not match")
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: enc.Ciphertext, CiphertextCrc32C: wrapperspb.Int64(crc(enc.Ciphertext).Value ^ 1)})
	wantCode(t, "Decrypt with a wrong ciphertext_crc32c", err, codes.InvalidArgument, "ciphertext_crc32c did not match")
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: enc.Ciphertext, AdditionalAuthenticatedDataCrc32C: bad})
	wantCode(t, "Decrypt with a wrong additional_authenticated_data_crc32c", err, codes.InvalidArgument, "additional_authenticated_data_crc32c did not match")
}

// TestErrors: the codes Cloud KMS gives for an unknown key, a malformed
// name, a disabled version, a ciphertext of another key or with other
// additional data, a damaged ciphertext, and data over 64 KiB.
func TestErrors(t *testing.T) {
	s, c := start(t)
	ctx := context.Background()
	enc, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: []byte("p"), AdditionalAuthenticatedData: []byte("aad")})
	if err != nil {
		t.Fatal(err)
	}
	const missing = "projects/p/locations/global/keyRings/coffer/cryptoKeys/nope"
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: missing, Plaintext: []byte("p")})
	wantCode(t, "Encrypt with an unknown key", err, codes.NotFound, "CryptoKey "+missing+" not found.")
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: missing, Ciphertext: enc.Ciphertext})
	wantCode(t, "Decrypt with an unknown key", err, codes.NotFound, "CryptoKey "+missing+" not found.")
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: "projects/p/keyRings/coffer", Plaintext: []byte("p")})
	wantCode(t, "Encrypt with a malformed name", err, codes.InvalidArgument, "does not match any known resource name pattern")
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1 + "/cryptoKeyVersions/1", Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: []byte("aad")})
	wantCode(t, "Decrypt naming a version", err, codes.InvalidArgument, "does not match any known resource name pattern")

	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key2, Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: []byte("aad")})
	wantCode(t, "Decrypt under another key", err, codes.InvalidArgument, "Decryption failed")
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: []byte("other")})
	wantCode(t, "Decrypt with other additional data", err, codes.InvalidArgument, "Decryption failed")
	for i := range enc.Ciphertext {
		bad := bytes.Clone(enc.Ciphertext)
		bad[i] ^= 1
		_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: bad, AdditionalAuthenticatedData: []byte("aad")})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("Decrypt with byte %d flipped: %v, want InvalidArgument", i, err)
		}
	}
	for _, n := range []int{0, 3, 4, 20} {
		_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: enc.Ciphertext[:n], AdditionalAuthenticatedData: []byte("aad")})
		wantCode(t, "Decrypt of a cut ciphertext", err, codes.InvalidArgument, "")
	}

	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: make([]byte, gcpkmsstub.MaxDataBytes+1)})
	wantCode(t, "Encrypt of 64 KiB + 1", err, codes.InvalidArgument, "no larger than 65536 bytes")
	if _, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: make([]byte, gcpkmsstub.MaxDataBytes)}); err != nil {
		t.Errorf("Encrypt of 64 KiB: %v", err)
	}
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1})
	wantCode(t, "Encrypt of nothing", err, codes.InvalidArgument, "plaintext is required")

	if err := s.SetEnabled(key1+"/cryptoKeyVersions/1", false); err != nil {
		t.Fatal(err)
	}
	const disabled = key1 + "/cryptoKeyVersions/1 is not enabled, current state is: DISABLED."
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: []byte("p")})
	wantCode(t, "Encrypt with a disabled primary version", err, codes.FailedPrecondition, disabled)
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: []byte("aad")})
	wantCode(t, "Decrypt of a disabled version's ciphertext", err, codes.FailedPrecondition, disabled)
	if err := s.SetEnabled(key1+"/cryptoKeyVersions/1", true); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: []byte("aad")}); err != nil {
		t.Errorf("Decrypt after enabling the version again: %v", err)
	}
}

// TestRotation: after a rotation Encrypt uses the new primary version, and
// a ciphertext of the old one still decrypts (used_primary false) until
// that version is disabled.
func TestRotation(t *testing.T) {
	s, c := start(t)
	ctx := context.Background()
	old, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: []byte("old")})
	if err != nil {
		t.Fatal(err)
	}
	v2, err := s.Rotate(key1)
	if err != nil || v2 != key1+"/cryptoKeyVersions/2" {
		t.Fatalf("Rotate = %q, %v", v2, err)
	}
	cur, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1, Plaintext: []byte("new")})
	if err != nil || cur.Name != v2 {
		t.Fatalf("Encrypt after Rotate: %v, %v; want version 2", cur, err)
	}
	byVersion, err := c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1 + "/cryptoKeyVersions/1", Plaintext: []byte("by version")})
	if err != nil || byVersion.Name != key1+"/cryptoKeyVersions/1" {
		t.Fatalf("Encrypt naming version 1: %v, %v", byVersion, err)
	}
	for _, tt := range []struct {
		ct      []byte
		plain   string
		primary bool
	}{{old.Ciphertext, "old", false}, {cur.Ciphertext, "new", true}, {byVersion.Ciphertext, "by version", false}} {
		dec, err := c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: tt.ct})
		if err != nil || string(dec.Plaintext) != tt.plain || dec.UsedPrimary != tt.primary {
			t.Errorf("Decrypt: %v, %v; want %q, used_primary %v", dec, err, tt.plain, tt.primary)
		}
	}
	_, err = c.Encrypt(ctx, &kmspb.EncryptRequest{Name: key1 + "/cryptoKeyVersions/3", Plaintext: []byte("p")})
	wantCode(t, "Encrypt naming a version that does not exist", err, codes.NotFound, "CryptoKeyVersion")
	if err := s.SetEnabled(key1+"/cryptoKeyVersions/1", false); err != nil {
		t.Fatal(err)
	}
	_, err = c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: old.Ciphertext})
	wantCode(t, "Decrypt of version 1's ciphertext once it is disabled", err, codes.FailedPrecondition, "DISABLED")
	if _, err := c.Decrypt(ctx, &kmspb.DecryptRequest{Name: key1, Ciphertext: cur.Ciphertext}); err != nil {
		t.Errorf("Decrypt of version 2's ciphertext: %v", err)
	}
}

// TestOtherMethodsUnimplemented: the stand-in serves Encrypt and Decrypt
// only.
func TestOtherMethodsUnimplemented(t *testing.T) {
	_, c := start(t)
	_, err := c.GetCryptoKey(context.Background(), &kmspb.GetCryptoKeyRequest{Name: key1})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("GetCryptoKey: %v, want Unimplemented", err)
	}
}

// TestAdminErrors: the Server's own methods refuse bad names.
func TestAdminErrors(t *testing.T) {
	s, _ := start(t)
	for what, err := range map[string]error{
		"CreateKey of an existing key":     s.CreateKey(key1),
		"CreateKey of a malformed name":    s.CreateKey("projects/p/cryptoKeys/k"),
		"Rotate of an unknown key":         func() error { _, err := s.Rotate(key1 + "x"); return err }(),
		"SetEnabled of a key name":         s.SetEnabled(key1, false),
		"SetEnabled of an unknown version": s.SetEnabled(key1+"/cryptoKeyVersions/9", false),
	} {
		if err == nil {
			t.Errorf("%s succeeded", what)
		}
	}
}
