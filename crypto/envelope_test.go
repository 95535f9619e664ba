package crypto

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"gocloud.dev/docstore/memdocstore"
	"gocloud.dev/secrets/localsecrets"
)

func testAEAD(t testing.TB) *Keyring {
	t.Helper()
	coll, err := memdocstore.OpenCollection("ID", nil)
	if err != nil {
		t.Fatal(err)
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return NewKeyring(coll, localsecrets.NewKeeper(key), nil)
}

var here = Place{Project: "p", Environment: "prod", Key: "API_KEY", CreatedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}

func TestSealOpen(t *testing.T) {
	ctx := context.Background()
	k := testAEAD(t)
	for _, plain := range [][]byte{{}, []byte("x"), bytes.Repeat([]byte("v"), 70000)} {
		sealed, err := k.Seal(ctx, here, plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) != len(plain)+Overhead {
			t.Errorf("sealed %d bytes into %d, want %d overhead", len(plain), len(sealed), Overhead)
		}
		got, err := k.Open(ctx, here, sealed)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("Open: %v", err)
		}
		again, _ := k.Seal(ctx, here, plain)
		if bytes.Equal(again, sealed) {
			t.Error("two seals of one value are equal")
		}
	}
}

// TestTamper: any other place, any flipped bit, any truncation fails with
// ErrDecrypt. Each other place differs from the sealing one in one part
// only (key, environment, project, creation time), so each binding shows
// on its own; the data-key id has a test of its own (TestKeyIDBound).
func TestTamper(t *testing.T) {
	ctx := context.Background()
	k := testAEAD(t)
	sealed, err := k.Seal(ctx, here, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(ctx, here, sealed); err != nil || string(got) != "secret" {
		t.Fatalf("Open at the sealing place: %q, %v", got, err)
	}
	at := func(f func(*Place)) Place {
		p := here
		f(&p)
		return p
	}
	for name, p := range map[string]Place{
		"key":           at(func(p *Place) { p.Key = "API_KEY2" }),
		"environment":   at(func(p *Place) { p.Environment = "dev" }),
		"project":       at(func(p *Place) { p.Project = "q" }),
		"creation time": at(func(p *Place) { p.CreatedAt = p.CreatedAt.Add(time.Millisecond) }),
		// The same bytes framed differently: lengths are bound too.
		"environment+key boundary":     at(func(p *Place) { p.Environment, p.Key = "prodAPI_KEY", "" }),
		"project+environment boundary": at(func(p *Place) { p.Project, p.Environment = "pprod", "" }),
	} {
		if _, err := k.Open(ctx, p, sealed); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open with another %s: %v, want ErrDecrypt", name, err)
		}
	}
	for i := range sealed {
		for bit := range 8 {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1 << bit
			if _, err := k.Open(ctx, here, bad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flipped bit %d of byte %d: %v, want ErrDecrypt", bit, i, err)
			}
		}
	}
	for n := range len(sealed) {
		if _, err := k.Open(ctx, here, sealed[:n]); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated to %d bytes: %v, want ErrDecrypt", n, err)
		}
	}
	if _, err := k.Open(ctx, here, append(bytes.Clone(sealed), 0)); !errors.Is(err, ErrDecrypt) {
		t.Errorf("extended envelope: %v", err)
	}
}

// TestKeyIDBound: the data-key id is bound into the envelope too. A
// keyring holding the same key bytes under two ids (as a store writer could
// make one, by copying a wrapped key under a new id) does not open an
// envelope whose header names the other id: the key bytes are right, only
// the id differs.
func TestKeyIDBound(t *testing.T) {
	ctx := context.Background()
	k := testAEAD(t)
	sealed, err := k.Seal(ctx, here, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := Parse(sealed)
	if err != nil {
		t.Fatal(err)
	}
	other := env.KeyID + 1
	k.mu.Lock()
	k.keys[other] = k.keys[env.KeyID]
	k.mu.Unlock()
	relabelled := bytes.Clone(sealed)
	binary.BigEndian.PutUint32(relabelled[1:1+idSize], other)
	if _, err := k.Open(ctx, here, relabelled); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Open of an envelope relabelled from data key %d to %d (same key bytes): %v, want ErrDecrypt", env.KeyID, other, err)
	}
	// Sealed under the second id, it opens: the same bytes are a working key.
	sealed2, err := seal(k.keys[other], other, here, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k.Open(ctx, here, sealed2); err != nil || string(got) != "secret" {
		t.Errorf("Open under the second id: %q, %v", got, err)
	}
}

// FuzzOpen: Open never panics, fails only with ErrDecrypt, and accepts
// only the exact envelopes it sealed: every modified, truncated, extended or
// forged envelope, under either data key of the keyring, is refused.
func FuzzOpen(f *testing.F) {
	ctx := context.Background()
	k := testAEAD(f)
	first, err := k.Seal(ctx, here, []byte("value"))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := k.Rotate(ctx); err != nil {
		f.Fatal(err)
	}
	second, err := k.Seal(ctx, here, []byte("value under key 2"))
	if err != nil {
		f.Fatal(err)
	}
	genuine := map[string]string{string(first): "value", string(second): "value under key 2"}
	f.Add(first)
	f.Add(second)
	f.Add([]byte{})
	f.Add([]byte{1, 0, 0, 0, 1})
	f.Add(make([]byte, Overhead))
	f.Add(append(bytes.Clone(first[:headerSize]), second[headerSize:]...))
	junk := make([]byte, 64)
	rand.Read(junk)
	f.Add(junk)
	f.Fuzz(func(t *testing.T, b []byte) {
		plain, err := k.Open(ctx, here, b)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			return
		}
		want, ok := genuine[string(b)]
		if !ok {
			t.Fatalf("accepted a modified envelope %x (plaintext %q)", b, plain)
		}
		if string(plain) != want {
			t.Fatalf("opened %q, want %q", plain, want)
		}
	})
}

// FuzzParse: Parse never panics; what it accepts has the documented layout
// and splits the input exactly.
func FuzzParse(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{Version})
	f.Add([]byte{Version, 0, 0, 0, 1})
	f.Add(append([]byte{Version, 0, 0, 0, 1}, make([]byte, nonceSize)...))
	f.Add(make([]byte, Overhead-1))
	f.Add(make([]byte, Overhead))
	f.Add(append([]byte{Version, 0, 0, 0, 7}, make([]byte, nonceSize+tagSize+3)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("error %v is not ErrDecrypt", err)
			}
			return
		}
		if len(b) < Overhead || env.Version != Version || len(env.Nonce) != nonceSize || len(env.Ciphertext) < tagSize {
			t.Fatalf("accepted %x as %+v", b, env)
		}
		var id [4]byte
		binary.BigEndian.PutUint32(id[:], env.KeyID)
		again := append(append(append([]byte{env.Version}, id[:]...), env.Nonce...), env.Ciphertext...)
		if !bytes.Equal(again, b) {
			t.Fatalf("parts %+v do not rebuild %x", env, b)
		}
	})
}
