package crypto

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"testing"

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

var here = Place{Project: "p", Environment: "prod", Key: "API_KEY"}

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
// ErrDecrypt.
func TestTamper(t *testing.T) {
	ctx := context.Background()
	k := testAEAD(t)
	sealed, err := k.Seal(ctx, here, []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Place{
		{Project: "p", Environment: "prod", Key: "API_KEY2"},
		{Project: "p", Environment: "dev", Key: "API_KEY"},
		{Project: "q", Environment: "prod", Key: "API_KEY"},
		{Project: "p", Environment: "prodAPI_KEY", Key: ""},
		{Project: "pprod", Environment: "", Key: "API_KEY"},
	} {
		if _, err := k.Open(ctx, p, sealed); !errors.Is(err, ErrDecrypt) {
			t.Errorf("Open at %+v: %v, want ErrDecrypt", p, err)
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
