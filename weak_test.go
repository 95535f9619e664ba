package coffer

import (
	"math"
	"testing"
)

// These tests reach the strength heuristic directly: Check's own tests
// (check_test.go) show it through stored secrets.

// varietyOf is variety with the lower-casing weakness does.
func varietyOf(v []byte) float64 {
	low := make([]byte, len(v))
	for i, c := range v {
		low[i] = lower[c]
	}
	return variety(v, low)
}

func TestWeakness(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  string
	}{
		{"", weakShort},
		{"hunter2", weakShort},
		{"fifteen-bytes!!", weakShort},
		{"Password12345678", weakCommon},
		{"12345678password", weakCommon},
		{"P@ssw0rd!!!!!!!!", weakCommon},
		{"iloveyouiloveyou", weakCommon},
		{"LetMeInLetMeInLetMeIn", weakCommon},
		{"changeit-2024-01", weakCommon},
		{"correcthorsebatterystaple", weakCommon},
		{"aaaaaaaaaaaaaaaaaaaa", weakVariety},
		{"aAaAaAaAaAaAaAaAaAaA", weakVariety},
		{"1234567890123456", weakVariety},
		{"9876543210987654", weakVariety},
		{"abcdefghijklmnopqrstuvwxyz", weakVariety},
		{"qwertyuiopasdfgh", weakVariety},
		{"abcd1234abcd1234", weakVariety},
		{"0000000000000001", weakVariety},
		{"1111222233334444", weakVariety},
		{"abababbbaabbabab", weakVariety},
		{"\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe", weakVariety},
		// Not weak: random-looking, long enough, or a common word buried in
		// more than its own length of other characters.
		{"sk_live_51HxYz8KpQ3mN7vR2tW", ""},
		{"4f9c2a7e1b8d6053", ""},
		{"Xk9#mP2$vL5@nQ8!", ""},
		{"83726451029384756admin", ""},
		{"correct-horse-battery-staple-93", ""},
		{"\x80\x91\xa2\xb3\xc4\xd5\xe6\xf7\x08\x19\x2a\x3b\x4c\x5d\x6e\x7f", ""},
	} {
		if got := weakness([]byte(tc.value)); got != tc.want {
			t.Errorf("weakness(%q) = %q; want %q (variety %.1f bits)", tc.value, got, tc.want, varietyOf([]byte(tc.value)))
		}
	}
}

// TestGeneratedValuesAreNeverWeak draws many Generate(32) values, and
// Generate(16) ones, the shortest it makes: none is weak, and the least
// variety seen stays far above the line.
func TestGeneratedValuesAreNeverWeak(t *testing.T) {
	draws := 100_000
	if testing.Short() {
		draws = 10_000
	}
	for _, n := range []int{16, 32} {
		least := math.Inf(1)
		for range draws {
			v, err := Generate(n)
			if err != nil {
				t.Fatal(err)
			}
			if why := weakness([]byte(v)); why != "" {
				t.Fatalf("Generate(%d) gave a weak value: %s", n, why)
			}
			least = min(least, varietyOf([]byte(v)))
		}
		t.Logf("Generate(%d): least variety in %d draws: %.0f bits (the line is %d)", n, draws, least, minVarietyBits)
		if least < 2*minVarietyBits {
			t.Errorf("Generate(%d): a draw scored %.0f bits, under twice the line", n, least)
		}
	}
}

// FuzzWeakness: any bytes, valid UTF-8 or not, get an answer and no panic;
// the answer is one of the fixed reasons and depends on the value alone.
func FuzzWeakness(f *testing.F) {
	for _, s := range []string{"", "hunter2", "Password12345678", "1234567890123456", "\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe\xff\xfe", "sk_live_51HxYz8KpQ3mN7vR2tW"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		got := weakness(v)
		switch got {
		case "", weakShort, weakCommon, weakVariety:
		default:
			t.Fatalf("weakness gave %q", got)
		}
		if (got == weakShort) != (len(v) < MinStrongBytes) {
			t.Fatalf("weakness(%d bytes) = %q", len(v), got)
		}
		if b := varietyOf(v); b < 0 || math.IsNaN(b) || math.IsInf(b, 0) {
			t.Fatalf("variety = %v", b)
		}
		// The early stop changes no verdict: under a limit exactly when
		// the whole count is.
		low := make([]byte, len(v))
		for i, c := range v {
			low[i] = lower[c]
		}
		full := variety(v, low)
		for _, limit := range []float64{0, 1, 7, minVarietyBits, 100, 1000} {
			if up := varietyUpTo(v, low, limit); (up < limit) != (full < limit) || (full < limit && up != full) {
				t.Fatalf("varietyUpTo(limit %v) = %v, variety = %v", limit, up, full)
			}
		}
		if again := weakness(append([]byte(nil), v...)); again != got {
			t.Fatalf("weakness changed its answer: %q then %q", got, again)
		}
	})
}
