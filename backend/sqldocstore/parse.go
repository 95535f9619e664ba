package sqldocstore

import (
	"encoding/base64"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"gocloud.dev/gcerrors"
)

// This file reads stored JSON text back into the value tree. It is the one
// parser of stored data: it checks everything and never panics. It reads
// the text in one pass straight into the tree, where encoding/json would
// first build a tree of its own (with an object for every tagged value)
// that then had to be converted: on a listing that was most of the
// driver's time. It accepts what encoding/json accepts and gives the same
// values (strings with invalid UTF-8 or lone surrogates read with U+FFFD,
// as encoding/json does; the last of duplicate keys wins); it refuses
// anything after the value but white space.

// maxDepth bounds the nesting of arrays and objects, as encoding/json does.
const maxDepth = 10000

// parseDoc parses stored JSON text back into the value tree.
func parseDoc(data []byte) (map[string]any, error) {
	v, err := parseValue(data)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, corrupt("top level is not an object")
	}
	return m, nil
}

// parseValue parses the stored JSON text of one value.
func parseValue(data []byte) (any, error) { return parseValueHint(data, 0) }

// parseValueHint is parseValue for text that is likely an array of n
// values (a projection's), which it allocates at once.
func parseValueHint(data []byte, n int) (any, error) {
	p := parser{data: data, hint: n}
	p.space()
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.data) {
		return nil, corrupt("trailing data at offset %d", p.pos)
	}
	return v, nil
}

func corrupt(format string, args ...any) error {
	return newError(gcerrors.Internal, errCorrupt, "%v: "+format, append([]any{errCorrupt}, args...)...)
}

type parser struct {
	data []byte
	pos  int
	hint int // the capacity of the outermost array
}

func (p *parser) space() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) errorf(what string) error {
	if p.pos >= len(p.data) {
		return corrupt("unexpected end of text, want %s", what)
	}
	return corrupt("unexpected %q at offset %d, want %s", p.data[p.pos], p.pos, what)
}

func (p *parser) value(depth int) (any, error) {
	if p.pos >= len(p.data) {
		return nil, p.errorf("a value")
	}
	switch c := p.data[p.pos]; {
	case c == '"':
		return p.string()
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, p.errorf("a value")
}

func (p *parser) literal(word string) error {
	if len(p.data)-p.pos < len(word) || string(p.data[p.pos:p.pos+len(word)]) != word {
		return p.errorf(word)
	}
	p.pos += len(word)
	return nil
}

// number reads a number as JSON spells it and converts it with
// parseNumber.
func (p *parser) number() (any, error) {
	start := p.pos
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	if p.pos < len(p.data) && p.data[p.pos] == '0' {
		p.pos++
	} else if digits() == 0 {
		return nil, p.errorf("a digit")
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		if digits() == 0 {
			return nil, p.errorf("a digit")
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.errorf("a digit")
		}
	}
	return parseNumber(string(p.data[start:p.pos]))
}

func parseNumber(s string) (any, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, corrupt("number %.40q: %v", s, err)
		}
		return f, nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, corrupt("integer %.40q out of range", s)
	}
	return u, nil
}

// string reads a JSON string. Text without escapes or bytes above ASCII is
// taken as it is; the rest is decoded as encoding/json decodes it.
func (p *parser) string() (string, error) {
	p.pos++ // the opening quote
	start := p.pos
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			s := string(p.data[start:p.pos])
			p.pos++
			return s, nil
		case c == '\\' || c >= utf8.RuneSelf:
			return p.slowString(start)
		case c < 0x20:
			return "", p.errorf("a character of a string")
		}
		p.pos++
	}
	return "", p.errorf(`a closing '"'`)
}

func (p *parser) slowString(start int) (string, error) {
	b := make([]byte, 0, p.pos-start+16)
	b = append(b, p.data[start:p.pos]...)
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(b), nil
		case c < 0x20:
			return "", p.errorf("a character of a string")
		case c == '\\':
			p.pos++
			if p.pos >= len(p.data) {
				return "", p.errorf("an escape")
			}
			e := p.data[p.pos]
			p.pos++
			switch e {
			case '"', '\\', '/':
				b = append(b, e)
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.errorf("four hex digits")
				}
				if utf16.IsSurrogate(r) {
					// A valid pair is one rune; anything else is U+FFFD and
					// leaves what follows to be read on its own.
					if p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
						save := p.pos
						p.pos += 2
						r2, ok := p.hex4()
						if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
							b = utf8.AppendRune(b, dec)
							continue
						}
						p.pos = save
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
			default:
				p.pos--
				return "", p.errorf("an escape")
			}
		case c < utf8.RuneSelf:
			b = append(b, c)
			p.pos++
		default:
			r, size := utf8.DecodeRune(p.data[p.pos:])
			b = utf8.AppendRune(b, r)
			p.pos += size
		}
	}
	return "", p.errorf(`a closing '"'`)
}

func (p *parser) hex4() (rune, bool) {
	if p.pos+4 > len(p.data) {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.pos += 4
	return r, true
}

func (p *parser) array(depth int) (any, error) {
	if depth > maxDepth {
		return nil, corrupt("nested too deeply")
	}
	p.pos++ // '['
	var out []any
	if depth == 1 && p.hint > 0 {
		out = make([]any, 0, p.hint)
	} else {
		out = []any{}
	}
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return out, nil
	}
	for {
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.errorf("',' or ']'")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return out, nil
		default:
			return nil, p.errorf("',' or ']'")
		}
	}
}

// object reads an object: a tagged value when a key starts with a single
// "$", else a map whose keys lose one "$" of a leading "$$". A tagged value
// (a time, bytes) is read without a map of its own: while every key so far
// is a tag, the members wait in a tagMembers.
func (p *parser) object(depth int) (any, error) {
	if depth > maxDepth {
		return nil, corrupt("nested too deeply")
	}
	p.pos++ // '{'
	// m stays nil while every member is a tag, kept in tags.
	var m map[string]any
	var tags tagMembers
	tagged, escaped := false, false
	p.space()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return map[string]any{}, nil
	}
	for {
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("a key")
		}
		k, err := p.string()
		if err != nil {
			return nil, err
		}
		isTag := false
		if strings.HasPrefix(k, "$") {
			if strings.HasPrefix(k, "$$") {
				escaped = true
			} else {
				tagged, isTag = true, true
			}
		}
		p.space()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.errorf("':'")
		}
		p.pos++
		p.space()
		v, err := p.value(depth)
		if err != nil {
			return nil, err
		}
		if m == nil && !(isTag && tags.set(k, v)) {
			m = make(map[string]any, tags.n+1)
			for i := range tags.n {
				m[tags.keys[i]] = tags.vals[i]
			}
		}
		if m != nil {
			m[k] = v
		}
		p.space()
		if p.pos >= len(p.data) {
			return nil, p.errorf("',' or '}'")
		}
		if p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.data[p.pos] != '}' {
			return nil, p.errorf("',' or '}'")
		}
		p.pos++
		break
	}
	switch {
	case m == nil:
		return fromTag(&tags)
	case tagged:
		// A tag among other keys: no tagged value has more than two.
		var t tagMembers
		for k, v := range m {
			if !t.set(k, v) {
				return nil, corrupt("unknown tagged value")
			}
		}
		return fromTag(&t)
	case escaped:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[strings.TrimPrefix(k, "$")] = v
		}
		return out, nil
	}
	return m, nil
}

// tagMembers are the members of a tagged object, which has one or two
// distinct keys; the last of duplicate keys wins, as in a map.
type tagMembers struct {
	keys [2]string
	vals [2]any
	n    int
}

// set adds a member, or reports false when it would be a third key.
func (t *tagMembers) set(k string, v any) bool {
	for i := range t.n {
		if t.keys[i] == k {
			t.vals[i] = v
			return true
		}
	}
	if t.n == len(t.keys) {
		return false
	}
	t.keys[t.n], t.vals[t.n] = k, v
	t.n++
	return true
}

// get returns the value of key k, or nil.
func (t *tagMembers) get(k string) any {
	for i := range t.n {
		if t.keys[i] == k {
			return t.vals[i]
		}
	}
	return nil
}

// fromTag reads a tagged object back into the Go value it stands for. Its
// members have been read like any other values: "$z" must have been an
// integer literal.
func fromTag(t *tagMembers) (any, error) {
	str := func(k string) (string, bool) {
		s, ok := t.get(k).(string)
		return s, ok
	}
	switch {
	case t.n == 1 && t.get("$b") != nil:
		s, ok := str("$b")
		if !ok {
			return nil, corrupt("$b is not a string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, corrupt("$b: %v", err)
		}
		return b, nil
	case t.n == 1 && t.get("$s") != nil:
		s, ok := str("$s")
		if !ok {
			return nil, corrupt("$s is not a string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, corrupt("$s: %v", err)
		}
		return string(b), nil
	case t.n == 1 && t.get("$f") != nil:
		s, _ := str("$f")
		switch s {
		case "NaN":
			return math.NaN(), nil
		case "+Inf":
			return math.Inf(1), nil
		case "-Inf":
			return math.Inf(-1), nil
		}
		return nil, corrupt("$f: unknown value")
	case t.n == 2 && t.get("$t") != nil && t.get("$z") != nil:
		s, ok := str("$t")
		if !ok {
			return nil, corrupt("$t is not a string")
		}
		tm, err := parseTime(s)
		if err != nil {
			return nil, corrupt("$t: %v", err)
		}
		off, ok := t.get("$z").(int64)
		if !ok || off < -24*3600 || off > 24*3600 {
			return nil, corrupt("$z is not a UTC offset")
		}
		if off == 0 {
			return tm, nil
		}
		return tm.In(time.FixedZone("", int(off))), nil
	}
	return nil, corrupt("unknown tagged value")
}

// parseTime is time.Parse(timeLayout, s), reading the fixed-width form
// this package writes directly; any other text goes to time.Parse.
func parseTime(s string) (time.Time, error) {
	if len(s) == len(timeLayout) && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[29] == 'Z' {
		num := func(from, to int) int {
			n := 0
			for _, c := range []byte(s[from:to]) {
				if c < '0' || c > '9' {
					return -1
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
		y, mo, d := num(0, 4), num(5, 7), num(8, 10)
		h, mi, sec, ns := num(11, 13), num(14, 16), num(17, 19), num(20, 29)
		if y >= 0 && mo >= 1 && mo <= 12 && d >= 1 && h >= 0 && h < 24 && mi >= 0 && mi < 60 && sec >= 0 && sec < 60 && ns >= 0 {
			t := time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC)
			if t.Day() == d { // not a day past the month's end
				return t, nil
			}
		}
	}
	return time.Parse(timeLayout, s)
}
