// Package cryptotest is a conformance suite for the keepers coffer seals
// with, in the manner of gocloud.dev's drivertest packages: a driver's test
// supplies a Harness that makes two keepers over different keys, and
// RunConformanceTests checks that coffer's keyring and envelope behave the
// same over it as over any other keeper.
//
// The suite checks round trips (including values over the 4096 bytes AWS KMS
// can encrypt directly), that two seals of one value differ, that a value
// opened at another place, with a flipped byte, truncated, or under a keyring
// wrapped by the other keeper fails with crypto.ErrDecrypt, that a cold
// keyring costs one keeper Decrypt per data key and a warm one none, and that
// ChangeKeeper moves a keyring from one keeper to the other.
package cryptotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
)

// Harness makes the keepers of one conformance run.
type Harness interface {
	// MakeKeepers returns two keepers over different keys: what k1 wraps,
	// k2 cannot unwrap, and the other way round. AWS KMS Decrypt unwraps a
	// ciphertext of any key the credentials may use, whatever key the
	// keeper names; give its two keepers different encryption contexts
	// (awskms URL parameters context_NAME=VALUE) or different credentials.
	MakeKeepers(ctx context.Context) (k1, k2 *secrets.Keeper, err error)
	// Close releases what the harness holds, keepers included.
	Close()
}

// HarnessMaker returns a new Harness for one test.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunConformanceTests runs the suite against the keepers newHarness makes.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	tests := []struct {
		name string
		fn   func(t *testing.T, k1, k2 *secrets.Keeper)
	}{
		{"KeeperRoundTrip", testKeeperRoundTrip},
		{"RoundTrip", testRoundTrip},
		{"SealsDiffer", testSealsDiffer},
		{"WrongPlace", testWrongPlace},
		{"FlippedByte", testFlippedByte},
		{"Truncated", testTruncated},
		{"OtherKeeper", testOtherKeeper},
		{"TamperedWrappedKey", testTamperedWrappedKey},
		{"KeeperCalls", testKeeperCalls},
		{"ChangeKeeper", testChangeKeeper},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("make harness: %v", err)
			}
			defer h.Close()
			k1, k2, err := h.MakeKeepers(ctx)
			if err != nil {
				t.Fatalf("make keepers: %v", err)
			}
			tc.fn(t, k1, k2)
		})
	}
}

var (
	here  = crypto.Place{Project: "shop", Environment: "production", Key: "STRIPE_API_KEY", CreatedAt: time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)}
	clock = func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
)

// newColl returns an empty in-memory collection with coffer's layout.
func newColl(t *testing.T) *docstore.Collection {
	t.Helper()
	coll, err := backend.OpenMemCollection()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = coll.Close() })
	return coll
}

// value returns n bytes that differ from one position to the next, so a
// value shifted or cut short does not compare equal.
func value(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%23)
	}
	return b
}

func mustSeal(t *testing.T, k *crypto.Keyring, p crypto.Place, plain []byte) []byte {
	t.Helper()
	sealed, err := k.Seal(context.Background(), p, plain)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	return sealed
}

func wantDecrypt(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("%s: got %v, want crypto.ErrDecrypt", what, err)
	}
}

func testKeeperRoundTrip(t *testing.T, k1, k2 *secrets.Keeper) {
	ctx := context.Background()
	key := value(crypto.KeySize)
	wrapped, err := k1.Encrypt(ctx, key)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if bytes.Contains(wrapped, key) {
		t.Error("the wrapped key holds the key in clear")
	}
	got, err := k1.Decrypt(ctx, wrapped)
	if err != nil || !bytes.Equal(got, key) {
		t.Errorf("Decrypt gave %d bytes, %v; want the key back", len(got), err)
	}
	if _, err := k2.Decrypt(ctx, wrapped); err == nil {
		t.Error("the other keeper unwrapped a key it did not wrap")
	}
}

func testRoundTrip(t *testing.T, k1, _ *secrets.Keeper) {
	ctx := context.Background()
	coll := newColl(t)
	k := crypto.NewKeyring(coll, k1, clock)
	for _, n := range []int{1, 100, 4096, 4097, 65536} {
		plain := value(n)
		sealed := mustSeal(t, k, here, plain)
		if len(sealed) != n+crypto.Overhead {
			t.Errorf("%d bytes sealed into %d, want %d", n, len(sealed), n+crypto.Overhead)
		}
		if bytes.Contains(sealed, plain[:min(n, 64)]) && n >= 16 {
			t.Errorf("%d bytes: the envelope holds the value in clear", n)
		}
		got, err := k.Open(ctx, here, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: Open gave %d bytes, %v", n, len(got), err)
		}
		// A cold keyring on the same collection reads it too.
		cold := crypto.NewKeyring(coll, k1, clock)
		if got, err := cold.Open(ctx, here, sealed); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("%d bytes: cold Open gave %d bytes, %v", n, len(got), err)
		}
	}
}

func testSealsDiffer(t *testing.T, k1, _ *secrets.Keeper) {
	k := crypto.NewKeyring(newColl(t), k1, clock)
	a, b := mustSeal(t, k, here, []byte("same value")), mustSeal(t, k, here, []byte("same value"))
	if bytes.Equal(a, b) {
		t.Error("two seals of one value are equal")
	}
	ea, _ := crypto.Parse(a)
	eb, _ := crypto.Parse(b)
	if bytes.Equal(ea.Nonce, eb.Nonce) {
		t.Error("two seals share a nonce")
	}
}

func testWrongPlace(t *testing.T, k1, _ *secrets.Keeper) {
	ctx := context.Background()
	k := crypto.NewKeyring(newColl(t), k1, clock)
	sealed := mustSeal(t, k, here, []byte("value"))
	for _, p := range []crypto.Place{
		{Project: here.Project, Environment: here.Environment, Key: "OTHER_KEY"},
		{Project: here.Project, Environment: "staging", Key: here.Key},
		{Project: "other", Environment: here.Environment, Key: here.Key},
		{Project: here.Project + here.Environment, Environment: "", Key: here.Key},
		{Project: here.Project, Environment: here.Environment, Key: here.Key, CreatedAt: here.CreatedAt.Add(time.Millisecond)},
	} {
		_, err := k.Open(ctx, p, sealed)
		wantDecrypt(t, fmt.Sprintf("Open at %+v", p), err)
	}
}

func testFlippedByte(t *testing.T, k1, _ *secrets.Keeper) {
	ctx := context.Background()
	k := crypto.NewKeyring(newColl(t), k1, clock)
	sealed := mustSeal(t, k, here, value(40))
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x80
		_, err := k.Open(ctx, here, bad)
		if !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("byte %d flipped: got %v, want crypto.ErrDecrypt", i, err)
		}
	}
}

func testTruncated(t *testing.T, k1, _ *secrets.Keeper) {
	ctx := context.Background()
	k := crypto.NewKeyring(newColl(t), k1, clock)
	sealed := mustSeal(t, k, here, value(40))
	for n := range len(sealed) {
		if _, err := k.Open(ctx, here, sealed[:n]); !errors.Is(err, crypto.ErrDecrypt) {
			t.Fatalf("cut to %d bytes: got %v, want crypto.ErrDecrypt", n, err)
		}
	}
	_, err := k.Open(ctx, here, append(bytes.Clone(sealed), 0))
	wantDecrypt(t, "one byte added", err)
}

func testOtherKeeper(t *testing.T, k1, k2 *secrets.Keeper) {
	ctx := context.Background()
	coll := newColl(t)
	sealed := mustSeal(t, crypto.NewKeyring(coll, k1, clock), here, []byte("value"))
	other := crypto.NewKeyring(coll, k2, clock)
	_, err := other.Open(ctx, here, sealed)
	wantDecrypt(t, "Open under a keyring wrapped by the other keeper", err)
	_, err = other.Seal(ctx, here, []byte("value"))
	wantDecrypt(t, "Seal under a keyring wrapped by the other keeper", err)
}

func testTamperedWrappedKey(t *testing.T, k1, _ *secrets.Keeper) {
	ctx := context.Background()
	coll := newColl(t)
	sealed := mustSeal(t, crypto.NewKeyring(coll, k1, clock), here, []byte("value"))
	rec := layout.NewKeyringRecord()
	if err := coll.Get(ctx, rec); err != nil {
		t.Fatal(err)
	}
	w := rec.Keys[0].Wrapped
	w[len(w)/2] ^= 1
	if err := coll.Replace(ctx, rec); err != nil {
		t.Fatal(err)
	}
	_, err := crypto.NewKeyring(coll, k1, clock).Open(ctx, here, sealed)
	wantDecrypt(t, "Open under a tampered wrapped key", err)
}

func testKeeperCalls(t *testing.T, k1, _ *secrets.Keeper) {
	ctx := context.Background()
	coll := newColl(t)
	writer := crypto.NewKeyring(coll, k1, clock)
	var sealed [][]byte
	for i := range 3 {
		if i > 0 {
			if _, err := writer.Rotate(ctx); err != nil {
				t.Fatal(err)
			}
		}
		sealed = append(sealed, mustSeal(t, writer, here, []byte(fmt.Sprint("value under key ", i+1))))
	}
	counter := NewCountingKeeper(k1)
	cold := crypto.NewKeyring(coll, counter.Keeper(), clock)
	for range 100 {
		for i, s := range sealed {
			got, err := cold.Open(ctx, here, s)
			if err != nil || string(got) != fmt.Sprint("value under key ", i+1) {
				t.Fatalf("Open under key %d: %q, %v", i+1, got, err)
			}
		}
		if _, err := cold.Seal(ctx, here, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	if got := [2]int{counter.Decrypts(), counter.Encrypts()}; got != [2]int{3, 0} {
		t.Errorf("a cold keyring of 3 data keys, then 300 opens and 100 seals: %d Decrypt and %d Encrypt calls, want 3 and 0", got[0], got[1])
	}
}

func testChangeKeeper(t *testing.T, k1, k2 *secrets.Keeper) {
	ctx := context.Background()
	coll := newColl(t)
	k := crypto.NewKeyring(coll, k1, clock)
	first := mustSeal(t, k, here, []byte("under key 1"))
	if _, err := k.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	second := mustSeal(t, k, here, []byte("under key 2"))
	if err := k.ChangeKeeper(ctx, k2); err != nil {
		t.Fatalf("ChangeKeeper: %v", err)
	}
	// The moved keyring wraps its next key with the new keeper too.
	if _, err := k.Rotate(ctx); err != nil {
		t.Fatalf("Rotate after ChangeKeeper: %v", err)
	}
	third := mustSeal(t, k, here, []byte("under key 3"))
	fresh := crypto.NewKeyring(coll, k2, clock)
	for want, s := range map[string][]byte{"under key 1": first, "under key 2": second, "under key 3": third} {
		if got, err := fresh.Open(ctx, here, s); err != nil || string(got) != want {
			t.Errorf("with the new keeper only: Open = %q, %v; want %q", got, err, want)
		}
	}
	_, err := crypto.NewKeyring(coll, k1, clock).Open(ctx, here, first)
	wantDecrypt(t, "Open with the old keeper only", err)
	// A keyring still holding the old keeper must not add a key the others
	// could not unwrap.
	if _, err := crypto.NewKeyring(coll, k1, clock).Rotate(ctx); err == nil {
		t.Error("Rotate with the old keeper after ChangeKeeper succeeded")
	}
	// Running it again is harmless.
	if err := fresh.ChangeKeeper(ctx, k2); err != nil {
		t.Errorf("second ChangeKeeper: %v", err)
	}
	if got, err := crypto.NewKeyring(coll, k2, clock).Open(ctx, here, third); err != nil || string(got) != "under key 3" {
		t.Errorf("after a second ChangeKeeper: %q, %v", got, err)
	}
}
