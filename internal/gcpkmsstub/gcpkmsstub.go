// Package gcpkmsstub is a stand-in of the Cloud KMS API: a gRPC server of
// the KeyManagementService's Encrypt and Decrypt calls, served on
// 127.0.0.1, so that tests can run gocloud's gcpkms keeper and Google's own
// Go client (cloud.google.com/go/kms) without a Google Cloud account. No
// emulator of Cloud KMS is published; this is not Google's service, and it
// implements only what coffer's tests need, following the API's reference:
//
//   - keys named projects/P/locations/L/keyRings/R/cryptoKeys/K, each with
//     numbered versions (cryptoKeyVersions/N) and one primary version;
//     Encrypt takes a key (its primary version) or a version name, Decrypt a
//     key name, and the ciphertext says which version sealed it;
//   - the CRC32C integrity fields: a request's plaintext_crc32c,
//     ciphertext_crc32c and additional_authenticated_data_crc32c are
//     checked (INVALID_ARGUMENT on a mismatch) and reported in
//     verified_plaintext_crc32c and verified_additional_authenticated_data_crc32c;
//     responses carry ciphertext_crc32c or plaintext_crc32c;
//   - additional authenticated data, which Decrypt must repeat;
//   - the errors the real API gives: NOT_FOUND for an unknown key,
//     FAILED_PRECONDITION for a version that is not enabled,
//     INVALID_ARGUMENT for a malformed name, a wrong checksum, a
//     plaintext or additional data over 64 KiB, and a ciphertext that does
//     not open under the key.
//
// Every other method of the service answers UNIMPLEMENTED. Keys are made,
// rotated and disabled through the Server's methods, not over gRPC. Each
// key version is a random AES-256-GCM key held in memory; the ciphertext
// format is the stand-in's own.
package gcpkmsstub

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"regexp"
	"strconv"
	"sync"

	kms "cloud.google.com/go/kms/apiv1"
	"cloud.google.com/go/kms/apiv1/kmspb"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// MaxDataBytes is the most plaintext, and the most additional authenticated
// data, one Encrypt takes: 64 KiB, as for Cloud KMS's SOFTWARE keys.
const MaxDataBytes = 64 << 10

var (
	keyNameRE     = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)
	versionNameRE = regexp.MustCompile(`^(projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+)/cryptoKeyVersions/([1-9][0-9]{0,8})$`)
	castagnoli    = crc32.MakeTable(crc32.Castagnoli)
)

// Server is a running stand-in of the Cloud KMS API. Its methods are safe
// for concurrent use, also while calls are being served.
type Server struct {
	addr string
	srv  *grpc.Server

	mu   sync.Mutex
	keys map[string]*cryptoKey // by key name
}

type cryptoKey struct {
	versions []*keyVersion // version N is versions[N-1]
	primary  int
}

type keyVersion struct {
	enabled bool
	aead    cipher.AEAD
}

// Start serves a stand-in with no keys on a free port of 127.0.0.1. Close
// stops it.
func Start() (*Server, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("gcpkmsstub: listen: %w", err)
	}
	s := &Server{addr: lis.Addr().String(), srv: grpc.NewServer(), keys: map[string]*cryptoKey{}}
	kmspb.RegisterKeyManagementServiceServer(s.srv, &service{s: s})
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// Addr returns the host:port the stand-in listens on.
func (s *Server) Addr() string { return s.addr }

// Close stops the server, ending calls in flight.
func (s *Server) Close() { s.srv.Stop() }

// NewClient returns Google's Cloud KMS client connected to the stand-in:
// its endpoint, no credentials, plain-text gRPC. The caller closes it.
func (s *Server) NewClient(ctx context.Context) (*kms.KeyManagementClient, error) {
	return kms.NewKeyManagementClient(ctx,
		option.WithEndpoint(s.addr),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	)
}

// CreateKey adds the symmetric key name
// (projects/P/locations/L/keyRings/R/cryptoKeys/K) with one enabled
// version, 1, its primary.
func (s *Server) CreateKey(name string) error {
	if !keyNameRE.MatchString(name) {
		return fmt.Errorf("gcpkmsstub: %q is not a CryptoKey name", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[name] != nil {
		return fmt.Errorf("gcpkmsstub: CryptoKey %s already exists", name)
	}
	k := &cryptoKey{}
	if _, err := k.addVersion(); err != nil {
		return err
	}
	s.keys[name] = k
	return nil
}

// Rotate adds a new enabled version to the key name and makes it primary,
// as Cloud KMS's scheduled rotation does; earlier versions still decrypt.
// It returns the new version's name.
func (s *Server) Rotate(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[name]
	if k == nil {
		return "", fmt.Errorf("gcpkmsstub: CryptoKey %s not found", name)
	}
	n, err := k.addVersion()
	if err != nil {
		return "", err
	}
	return versionName(name, n), nil
}

// SetEnabled enables or disables a key version, named
// .../cryptoKeys/K/cryptoKeyVersions/N. A disabled version neither
// encrypts nor decrypts: calls that need it fail with FAILED_PRECONDITION.
func (s *Server) SetEnabled(version string, enabled bool) error {
	m := versionNameRE.FindStringSubmatch(version)
	if m == nil {
		return fmt.Errorf("gcpkmsstub: %q is not a CryptoKeyVersion name", version)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[m[1]]
	n, _ := strconv.Atoi(m[2])
	if k == nil || n > len(k.versions) {
		return fmt.Errorf("gcpkmsstub: CryptoKeyVersion %s not found", version)
	}
	k.versions[n-1].enabled = enabled
	return nil
}

func (k *cryptoKey) addVersion() (int, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return 0, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return 0, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return 0, err
	}
	k.versions = append(k.versions, &keyVersion{enabled: true, aead: aead})
	k.primary = len(k.versions)
	return k.primary, nil
}

func versionName(key string, n int) string {
	return key + "/cryptoKeyVersions/" + strconv.Itoa(n)
}

// lookup finds the key version a call names: a key (its primary version,
// or with ofCiphertext the version the ciphertext names) or, for Encrypt,
// a version. It fails as Cloud KMS does: INVALID_ARGUMENT for a malformed
// name, NOT_FOUND for an unknown one, FAILED_PRECONDITION for a version
// that is not enabled.
func (s *Server) lookup(name string, allowVersion bool, ofCiphertext func(*cryptoKey) (int, error)) (found, error) {
	keyName, n := name, 0
	if m := versionNameRE.FindStringSubmatch(name); m != nil && allowVersion {
		keyName = m[1]
		n, _ = strconv.Atoi(m[2])
	} else if !keyNameRE.MatchString(name) {
		return found{}, status.Errorf(codes.InvalidArgument, "Resource name [%s] does not match any known resource name pattern.", name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.keys[keyName]
	if k == nil {
		return found{}, status.Errorf(codes.NotFound, "CryptoKey %s not found.", keyName)
	}
	switch {
	case n > len(k.versions):
		return found{}, status.Errorf(codes.NotFound, "CryptoKeyVersion %s not found.", name)
	case n == 0 && ofCiphertext != nil:
		var err error
		if n, err = ofCiphertext(k); err != nil {
			return found{}, err
		}
	case n == 0:
		n = k.primary
	}
	f := found{version: k.versions[n-1], name: versionName(keyName, n), number: n, primary: n == k.primary}
	if !f.version.enabled {
		return found{}, status.Errorf(codes.FailedPrecondition, "%s is not enabled, current state is: DISABLED.", f.name)
	}
	return f, nil
}

// found is the key version a call uses.
type found struct {
	version *keyVersion
	name    string // .../cryptoKeyVersions/N
	number  int    // N
	primary bool
}

// checkCRC verifies an optional CRC32C checksum of field, reporting
// whether one was given.
func checkCRC(field string, data []byte, sum *wrapperspb.Int64Value) (bool, error) {
	if sum == nil {
		return false, nil
	}
	if sum.GetValue() != int64(crc32.Checksum(data, castagnoli)) {
		return false, status.Errorf(codes.InvalidArgument, "The checksum in field %s_crc32c did not match the data in field %s.", field, field)
	}
	return true, nil
}

func crc(data []byte) *wrapperspb.Int64Value {
	return wrapperspb.Int64(int64(crc32.Checksum(data, castagnoli)))
}

// The stand-in's ciphertext: the key version (4 bytes, big-endian), the
// nonce, then AES-GCM's output over the plaintext with the additional
// authenticated data.
const versionBytes = 4

var errBadCiphertext = status.Error(codes.InvalidArgument, "Decryption failed: verify that 'name' refers to the correct CryptoKey.")

type service struct {
	kmspb.UnimplementedKeyManagementServiceServer
	s *Server
}

// Encrypt seals req.Plaintext under the named key's primary version (or
// the named version).
func (svc *service) Encrypt(_ context.Context, req *kmspb.EncryptRequest) (*kmspb.EncryptResponse, error) {
	switch {
	case len(req.GetPlaintext()) == 0:
		return nil, status.Error(codes.InvalidArgument, "plaintext is required.")
	case len(req.GetPlaintext()) > MaxDataBytes:
		return nil, status.Errorf(codes.InvalidArgument, "The plaintext must be no larger than %d bytes.", MaxDataBytes)
	case len(req.GetAdditionalAuthenticatedData()) > MaxDataBytes:
		return nil, status.Errorf(codes.InvalidArgument, "The additional authenticated data must be no larger than %d bytes.", MaxDataBytes)
	}
	verifiedPlain, err := checkCRC("plaintext", req.GetPlaintext(), req.GetPlaintextCrc32C())
	if err != nil {
		return nil, err
	}
	verifiedAAD, err := checkCRC("additional_authenticated_data", req.GetAdditionalAuthenticatedData(), req.GetAdditionalAuthenticatedDataCrc32C())
	if err != nil {
		return nil, err
	}
	f, err := svc.s.lookup(req.GetName(), true, nil)
	if err != nil {
		return nil, err
	}
	v := f.version
	out := make([]byte, versionBytes, versionBytes+v.aead.NonceSize()+len(req.GetPlaintext())+v.aead.Overhead())
	binary.BigEndian.PutUint32(out, uint32(f.number))
	nonce := make([]byte, v.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, status.Error(codes.Internal, "no randomness")
	}
	out = append(out, nonce...)
	out = v.aead.Seal(out, nonce, req.GetPlaintext(), req.GetAdditionalAuthenticatedData())
	return &kmspb.EncryptResponse{
		Name:                    f.name,
		Ciphertext:              out,
		CiphertextCrc32C:        crc(out),
		VerifiedPlaintextCrc32C: verifiedPlain,
		VerifiedAdditionalAuthenticatedDataCrc32C: verifiedAAD,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}, nil
}

// Decrypt opens req.Ciphertext under the version of the named key that
// sealed it.
func (svc *service) Decrypt(_ context.Context, req *kmspb.DecryptRequest) (*kmspb.DecryptResponse, error) {
	if len(req.GetCiphertext()) == 0 {
		return nil, status.Error(codes.InvalidArgument, "ciphertext is required.")
	}
	if _, err := checkCRC("ciphertext", req.GetCiphertext(), req.GetCiphertextCrc32C()); err != nil {
		return nil, err
	}
	if _, err := checkCRC("additional_authenticated_data", req.GetAdditionalAuthenticatedData(), req.GetAdditionalAuthenticatedDataCrc32C()); err != nil {
		return nil, err
	}
	ct := req.GetCiphertext()
	f, err := svc.s.lookup(req.GetName(), false, func(k *cryptoKey) (int, error) {
		if len(ct) < versionBytes {
			return 0, errBadCiphertext
		}
		n := binary.BigEndian.Uint32(ct)
		if n == 0 || uint64(n) > uint64(len(k.versions)) {
			return 0, errBadCiphertext
		}
		return int(n), nil
	})
	if err != nil {
		return nil, err
	}
	v := f.version
	body := ct[versionBytes:]
	if len(body) < v.aead.NonceSize()+v.aead.Overhead() {
		return nil, errBadCiphertext
	}
	plain, err := v.aead.Open(nil, body[:v.aead.NonceSize()], body[v.aead.NonceSize():], req.GetAdditionalAuthenticatedData())
	if err != nil {
		return nil, errBadCiphertext
	}
	return &kmspb.DecryptResponse{
		Plaintext:       plain,
		PlaintextCrc32C: crc(plain),
		UsedPrimary:     f.primary,
		ProtectionLevel: kmspb.ProtectionLevel_SOFTWARE,
	}, nil
}
