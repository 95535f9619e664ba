package coffer

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// keyRule is the key rule written out byte by byte, independently of
// validateKey: it returns the position of the first offending byte, or -1
// when the key is valid. Every allowed character is ASCII, so the first
// offending byte is also where the offending character starts.
func keyRule(key string, requireUpper bool) int {
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z':
		case c >= 'a' && c <= 'z' && !requireUpper:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return -1
}

// FuzzValidateKey: validateKey never panics, accepts exactly the keys the
// rule allows, and a rejection names the offending character and where it is.
func FuzzValidateKey(f *testing.F) {
	for _, k := range []string{
		"API_KEY", "api_key", "_PRIVATE", "A1", "1ABC", "", "A-B", "A B", "KEY\x00",
		"ключ", "K\xff", "K\xe2\x82", "\uFFFD", "Ab", strings.Repeat("A", MaxKeyBytes), strings.Repeat("A", MaxKeyBytes+1),
	} {
		f.Add(k, false)
		f.Add(k, true)
	}
	f.Fuzz(func(t *testing.T, key string, requireUpper bool) {
		err := validateKey(key, requireUpper)
		if !requireUpper {
			// The exported check is the rule of reads, without the uppercase rule.
			if got := ValidateKey(key); fmt.Sprint(got) != fmt.Sprint(err) {
				t.Fatalf("ValidateKey(%q) = %v, want %v", key, got, err)
			}
		}
		bad := keyRule(key, requireUpper)
		switch {
		case key == "":
			if !errors.Is(err, ErrKeyRequired) {
				t.Fatalf("empty key: %v, want ErrKeyRequired", err)
			}
			return
		case len(key) > MaxKeyBytes:
			if !errors.Is(err, ErrInvalidKey) || !strings.Contains(err.Error(), fmt.Sprintf("%d bytes", len(key))) {
				t.Fatalf("%d-byte key: %v, want ErrInvalidKey giving the length", len(key), err)
			}
			return
		case bad < 0:
			if err != nil {
				t.Fatalf("validateKey(%q, %v) rejected a valid key: %v", key, requireUpper, err)
			}
			return
		}
		if !errors.Is(err, ErrInvalidKey) {
			t.Fatalf("validateKey(%q, %v) = %v, want ErrInvalidKey (byte %d breaks the rule)", key, requireUpper, err, bad)
		}
		msg := err.Error()
		r, size := utf8.DecodeRuneInString(key[bad:])
		// Positions count characters from 1: the runes before the bad byte,
		// plus one (an invalid byte counts as one character).
		pos := utf8.RuneCountInString(key[:bad]) + 1
		var names string
		switch {
		case r == utf8.RuneError && size <= 1:
			names = fmt.Sprintf("byte 0x%02x at position %d", key[bad], pos)
		case bad == 0 && r >= '0' && r <= '9':
			names = fmt.Sprintf("%q starts with a digit", key)
		default:
			names = fmt.Sprintf("%q at position %d", r, pos)
		}
		if !strings.Contains(msg, names) {
			t.Fatalf("validateKey(%q, %v) = %q; want it to name the offending character: %s", key, requireUpper, msg, names)
		}
	})
}
