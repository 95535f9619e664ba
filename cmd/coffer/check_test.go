package main

import (
	"testing"
	"time"
)

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "1d": 24 * time.Hour, "2160h": 2160 * time.Hour, "1ns": 1} {
		if got, err := parseAge(in); err != nil || got != want {
			t.Errorf("parseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "d", "0d", "-3d", "soon", "0", "-1h", "1.5d"} {
		if got, err := parseAge(in); err == nil {
			t.Errorf("parseAge(%q) = %v, want an error", in, got)
		}
	}
}

// FuzzParseAge: never a panic; a duration it accepts is positive.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"90d", "2160h", "1ns", "0d", "9999999999999d", "-1d", "1h30m"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseAge(s); err == nil && d <= 0 {
			t.Fatalf("parseAge(%q) = %v, accepted but not positive", s, d)
		}
	})
}
