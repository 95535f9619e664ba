package coffer_test

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
)

func TestGenerate(t *testing.T) {
	seen := map[coffer.Value]bool{}
	for _, n := range []int{16, 17, 18, 32, 64, 1023, 1024} {
		for range 50 {
			v, err := coffer.Generate(n)
			if err != nil {
				t.Fatalf("Generate(%d): %v", n, err)
			}
			if want := base64.RawURLEncoding.EncodedLen(n); len(v) != want {
				t.Errorf("Generate(%d) is %d characters; want %d", n, len(v), want)
			}
			raw, err := base64.RawURLEncoding.DecodeString(string(v))
			if err != nil || len(raw) != n {
				t.Errorf("Generate(%d) does not decode to %d bytes as unpadded URL-safe base64: %d bytes, %v", n, n, len(raw), err)
			}
			// Safe unquoted in a .env file, a shell and a URL: no quote,
			// space, $, =, #, /, + or padding.
			if i := strings.IndexFunc(string(v), func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}); i >= 0 {
				t.Errorf("Generate(%d) holds %q at %d", n, string(v)[i], i)
			}
			if seen[v] {
				t.Errorf("Generate(%d) gave the same value twice", n)
			}
			seen[v] = true
		}
	}
}

func TestGenerateSizes(t *testing.T) {
	for _, n := range []int{-1, 0, 1, 15, 1025, 1 << 30} {
		v, err := coffer.Generate(n)
		if !errors.Is(err, coffer.ErrInvalidOptions) || v != "" {
			t.Errorf("Generate(%d) = %d characters, %v; want ErrInvalidOptions and no value", n, len(v), err)
		}
		if err != nil && !strings.Contains(err.Error(), "16 to 1024 bytes") {
			t.Errorf("Generate(%d): %v; want it to give the range", n, err)
		}
	}
}

// TestGenerateStores: a generated value is a valid value, stored and
// revealed unchanged.
func TestGenerateStores(t *testing.T) {
	e := newEnv(t, nil)
	v, err := coffer.Generate(coffer.MaxGenerateBytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Create(context.Background(), coffer.NewSecret{Key: "SIGNING_KEY", Value: v}); err != nil {
		t.Fatal(err)
	}
	got, err := e.m.Reveal(context.Background(), "SIGNING_KEY")
	if err != nil || got != v {
		t.Errorf("Reveal gave another value (%v)", err)
	}
}
