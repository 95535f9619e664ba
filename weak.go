package coffer

import (
	"math"
	"strings"
)

// MinStrongBytes is the shortest value Check accepts for a password, token,
// API key, encryption key or credential.
const MinStrongBytes = 16

// minVarietyBits is the least variety, in bits (see variety), a value of a
// checked type must show. "1234567890123456" scores 7 and
// "qwertyuiopasdfgh" 9; sixteen random lower-case letters score 56 or
// more, sixteen random base64 characters 74 or more, Generate(32) over 200.
// Sixteen random digits (53 bits of entropy) sit near the line: about one
// draw in 700 scores under 40.
const minVarietyBits = 40

// The three reasons a value is weak, as Check words them. None holds or
// hints at the value beyond the reason itself.
const (
	weakShort   = "shorter than 16 bytes: replace it with a generated value (32 random bytes)"
	weakCommon  = "a commonly used password: replace it with a generated value (32 random bytes)"
	weakVariety = "plainly low variety (repeated, sequential or few distinct characters): replace it with a generated value (32 random bytes)"
)

// weakness returns why v is a weak value, or "" when it is not: shorter
// than MinStrongBytes, a common password (give or take digits and symbols
// around it that make up no more than half, letter case and look-alike
// substitutions such as "p@ssw0rd", and repetition), or of plainly low
// variety. It never returns any part of v.
func weakness(v []byte) string {
	if len(v) < MinStrongBytes {
		return weakShort
	}
	// One scratch buffer for the lower-cased value and its unleeted core,
	// on the stack for values of up to 128 bytes.
	var stack [256]byte
	buf := stack[:]
	if 2*len(v) > len(buf) {
		buf = make([]byte, 2*len(v))
	}
	low := buf[:len(v)]
	for i, c := range v {
		low[i] = lower[c]
	}
	switch {
	case isCommonPassword(low, buf[len(v):]):
		return weakCommon
	case varietyUpTo(v, low, minVarietyBits) < minVarietyBits:
		return weakVariety
	}
	return ""
}

// isCommonPassword reports whether low, a value lower-cased, is a common
// password once stripped of the digits and symbols around it (when they
// are no more than half of it), undone of look-alike substitutions and of
// repetition. scratch holds at least len(low) bytes.
func isCommonPassword(low, scratch []byte) bool {
	core := low
	for len(core) > 0 && !isLetter(core[0]) {
		core = core[1:]
	}
	for len(core) > 0 && !isLetter(core[len(core)-1]) {
		core = core[:len(core)-1]
	}
	if 2*len(core) < len(low) {
		core = low
	}
	plain := scratch[:len(core)]
	for i, c := range core {
		plain[i] = unleet[c]
	}
	for _, s := range [2][]byte{core, plain} {
		if commonPasswords[string(s)] || commonPasswords[string(s[:period(s)])] {
			return true
		}
	}
	return false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' }

// lower maps each byte to itself, ASCII capitals to lower case: a value
// lower-cased through it keeps its length even when it is not UTF-8.
var lower = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] += 'a' - 'A'
		}
	}
	return t
}()

// unleet maps each byte to itself, but undoes the usual look-alike
// substitutions ("p@ssw0rd").
var unleet = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
	}
	for from, to := range map[byte]byte{'@': 'a', '4': 'a', '0': 'o', '1': 'i', '!': 'i', '3': 'e', '$': 's', '5': 's', '7': 't'} {
		t[from] = to
	}
	return t
}()

// period returns the length of the shortest unit that v repeats at least
// twice (whole or with a partial last copy), or len(v).
func period(v []byte) int {
	for p := 1; p <= len(v)/2; p++ {
		if v[p] == v[0] && string(v[p:]) == string(v[:len(v)-p]) {
			return p
		}
	}
	return len(v)
}

// variety estimates, in bits, how much choice v shows. The unit v repeats
// is split into tokens: a run of three or more characters that repeat or
// follow each other in the alphabet, the digits or a keyboard row counts as
// two (where it starts, how far it goes), any other character as one. Each
// token is worth log2 of the size of the character classes the unit draws
// from (digits 10, lower case 26, upper case 26, other ASCII 33, other
// bytes 128). A unit of three or fewer distinct bytes scores 0. It is a
// coarse estimate, meant to catch only plainly weak values: it knows no
// words.
// low is v lower-cased.
func variety(v []byte, low []byte) float64 {
	return varietyUpTo(v, low, math.Inf(1))
}

// varietyUpTo is variety, but stops counting once the estimate reaches
// limit: it returns the variety when that is under limit, else a figure of
// at least limit.
func varietyUpTo(v []byte, low []byte, limit float64) float64 {
	unit := low[:period(low)]
	raw := v[:len(unit)]
	var seen [256]bool
	distinct := 0
	var digit, lowerCase, upperCase, other, high bool
	for _, b := range raw {
		if !seen[b] {
			seen[b] = true
			distinct++
		}
		switch {
		case b >= '0' && b <= '9':
			digit = true
		case b >= 'a' && b <= 'z':
			lowerCase = true
		case b >= 'A' && b <= 'Z':
			upperCase = true
		case b < 0x80:
			other = true
		default:
			high = true
		}
	}
	if distinct <= maxFewDistinct {
		return 0
	}
	class := 0
	for _, c := range []struct {
		in   bool
		size int
	}{{digit, 10}, {lowerCase, 26}, {upperCase, 26}, {other, 33}, {high, 128}} {
		if c.in {
			class += c.size
		}
	}
	bits := math.Log2(float64(class))
	tokens := 0
	for i := 0; i < len(unit) && float64(tokens)*bits < limit; {
		j := i + 1
		if j < len(unit) {
			if s := step(unit[i], unit[j]); s != noStep {
				for j+1 < len(unit) && step(unit[j], unit[j+1]) == s {
					j++
				}
				if j-i+1 >= 3 {
					tokens += 2
					i = j + 1
					continue
				}
			}
		}
		tokens++
		i++
	}
	return float64(tokens) * bits
}

// maxFewDistinct is the most distinct bytes a plainly low-variety value
// holds ("abababbbaabbabab"). Sixteen random digits have three or fewer
// distinct ones about once in two million draws.
const maxFewDistinct = 3

// Steps between two characters of a run.
const (
	noStep = iota
	sameStep
	upStep
	downStep
)

// sequences are the orders in which characters follow each other: the
// alphabet, the digits as on a keyboard (9 then 0) and as numbers (9 then
// 0, wrapping), and the letter rows of a QWERTY keyboard read on.
var sequences = []string{
	"abcdefghijklmnopqrstuvwxyz",
	"12345678901",
	"qwertyuiopasdfghjklzxcvbnm",
}

// follows[a] has bit b set when b follows a in one of the sequences.
var follows = func() (t [256][4]uint64) {
	for _, seq := range sequences {
		for i := 0; i+1 < len(seq); i++ {
			a, b := seq[i], seq[i+1]
			t[a][b/64] |= 1 << (b % 64)
		}
	}
	return t
}()

// step says how b follows a.
func step(a, b byte) int {
	switch {
	case a == b:
		return sameStep
	case follows[a][b/64]&(1<<(b%64)) != 0:
		return upStep
	case follows[b][a/64]&(1<<(a%64)) != 0:
		return downStep
	}
	return noStep
}

// commonPasswords are passwords that top every published list of the most
// used ones, and the defaults that ship with software, lower-case, four
// letters or more. A value is checked against them after it is normalised
// (see isCommonPassword), so "Password2024!!!!" matches "password".
var commonPasswords = func() map[string]bool {
	words := strings.Fields(`
		password passwort passwd qwerty qwertyuiop qwertz azerty asdfgh asdfghjkl
		zxcvbnm qazwsx iloveyou letmein welcome admin administrator root toor
		login guest user test demo temp default changeme changeit secret
		topsecret supersecret mysecret secretkey private access master shadow
		monkey dragon football baseball basketball soccer hockey batman superman
		spiderman starwars pokemon naruto princess sunshine trustno whatever
		freedom computer internet hello charlie michael jennifer jordan hunter
		ranger buster thomas tigger robert harley andrew daniel summer winter
		spring autumn flower cookie cheese pepper ginger maggie matrix mustang
		chelsea liverpool arsenal samsung google apple banana orange purple
		silver golden diamond killer abcdef abcdefgh correcthorsebatterystaple
		lovely loveme angel angels family friends ninja
	`)
	m := make(map[string]bool, len(words))
	for _, w := range words {
		if len(w) >= 4 {
			m[w] = true
		}
	}
	return m
}()
