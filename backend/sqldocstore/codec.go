package sqldocstore

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
)

// The stored form of a document is JSON text. A decoded document is a tree
// of Go values, the same shape memdocstore keeps: nil, bool, int64, uint64
// (only above math.MaxInt64), float64, string, []byte, time.Time, []any and
// map[string]any.
//
// JSON cannot say everything Go can, so a few values are written as tagged
// objects, objects whose keys start with a single "$":
//
//	[]byte                        {"$b": "<standard base64>"}
//	time.Time                     {"$t": "2006-01-02T15:04:05.000000000Z", "$z": <UTC offset in seconds>}
//	NaN, +Inf, -Inf               {"$f": "NaN" | "+Inf" | "-Inf"}
//	string with NUL or bad UTF-8  {"$s": "<standard base64>"}
//
// A map key of the document that starts with "$" is written with one more
// "$" in front ("$x" is stored as "$$x"), so no document content can be
// mistaken for a tag. Floats are always written with a decimal point and
// without an exponent, so a float stays a float (2.0 is not read back as the
// integer 2) on both SQLite, which keeps the text, and PostgreSQL, whose
// jsonb keeps the digits of a number but not its spelling. The time string
// has a fixed width in UTC, so comparing two of them as text compares the
// instants: that is what lets SQL filter and sort on times.

const timeLayout = "2006-01-02T15:04:05.000000000Z"

var typeOfTime = reflect.TypeFor[time.Time]()

// encodeDoc encodes a document to the value tree, without the revision
// field, which lives in its own column.
func encodeDoc(doc driver.Document, revField string) (map[string]any, error) {
	var e encoder
	if err := doc.Encode(&e); err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, e.err
	}
	m, ok := e.val.(map[string]any)
	if !ok {
		return nil, newError(gcerrors.InvalidArgument, nil, "document did not encode to a map")
	}
	delete(m, revField)
	return m, nil
}

// encodeValue encodes one Go value (a mod or a filter operand) to the tree.
func encodeValue(v any) (any, error) {
	var e encoder
	if err := driver.Encode(reflect.ValueOf(v), &e); err != nil {
		return nil, err
	}
	if e.err != nil {
		return nil, e.err
	}
	return e.val, nil
}

// encoder implements driver.Encoder, building the value tree. The first
// problem it meets (a time it cannot store) is kept in err, because the
// driver.Encoder methods cannot return errors.
type encoder struct {
	val any
	err error
}

func (e *encoder) EncodeNil()            { e.val = nil }
func (e *encoder) EncodeBool(x bool)     { e.val = x }
func (e *encoder) EncodeInt(x int64)     { e.val = x }
func (e *encoder) EncodeFloat(x float64) { e.val = x }
func (e *encoder) EncodeString(x string) { e.val = x }
func (e *encoder) ListIndex(int)         {}
func (e *encoder) MapKey(string)         {}

func (e *encoder) EncodeUint(x uint64) {
	if x <= math.MaxInt64 {
		e.val = int64(x)
	} else {
		e.val = x
	}
}

func (e *encoder) EncodeBytes(x []byte) { e.val = slices.Clone(x) }

func (e *encoder) EncodeSpecial(v reflect.Value) (bool, error) {
	if v.Type() != typeOfTime {
		return false, nil
	}
	t := v.Interface().(time.Time)
	if y := t.UTC().Year(); y < 0 || y > 9999 {
		return true, newError(gcerrors.InvalidArgument, nil, "time %v is outside years 0 to 9999", y)
	}
	e.val = t
	return true, nil
}

func (e *encoder) EncodeList(n int) driver.Encoder {
	s := make([]any, n)
	e.val = s
	return &listEncoder{s: s, parent: e}
}

func (e *encoder) EncodeMap(n int) driver.Encoder {
	m := make(map[string]any, n)
	e.val = m
	return &mapEncoder{m: m, parent: e}
}

type listEncoder struct {
	encoder
	s      []any
	parent *encoder
}

func (e *listEncoder) ListIndex(i int) {
	e.s[i] = e.val
	if e.err != nil && e.parent.err == nil {
		e.parent.err = e.err
	}
}

type mapEncoder struct {
	encoder
	m      map[string]any
	parent *encoder
}

func (e *mapEncoder) MapKey(k string) {
	e.m[k] = e.val
	if e.err != nil && e.parent.err == nil {
		e.parent.err = e.err
	}
}

// marshalDoc writes a document tree as JSON text.
func marshalDoc(m map[string]any) ([]byte, error) { return marshalValue(m) }

// marshalValue writes one value of the tree as JSON text.
func marshalValue(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := writeValue(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// plainString reports whether s can be stored as a JSON string on both
// dialects: PostgreSQL's jsonb refuses \u0000, and JSON has no way to say
// bytes that are not UTF-8.
func plainString(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func writeValue(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(v, 10))
	case float64:
		switch {
		case math.IsNaN(v):
			b.WriteString(`{"$f":"NaN"}`)
		case math.IsInf(v, 1):
			b.WriteString(`{"$f":"+Inf"}`)
		case math.IsInf(v, -1):
			b.WriteString(`{"$f":"-Inf"}`)
		default:
			b.WriteString(formatFloat(v))
		}
	case string:
		if plainString(v) {
			writeString(b, v)
		} else {
			b.WriteString(`{"$s":"`)
			b.WriteString(base64.StdEncoding.EncodeToString([]byte(v)))
			b.WriteString(`"}`)
		}
	case []byte:
		b.WriteString(`{"$b":"`)
		b.WriteString(base64.StdEncoding.EncodeToString(v))
		b.WriteString(`"}`)
	case time.Time:
		_, off := v.Zone()
		b.WriteString(`{"$t":"`)
		b.WriteString(formatTime(v))
		b.WriteString(`","$z":`)
		b.WriteString(strconv.Itoa(off))
		b.WriteString("}")
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeValue(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			if !plainString(k) {
				return newError(gcerrors.InvalidArgument, nil, "map key %q is not valid UTF-8 or holds a NUL byte", k)
			}
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, escapeKey(k))
			b.WriteByte(':')
			if err := writeValue(b, v[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return newError(gcerrors.Internal, nil, "cannot store a value of type %T", v)
	}
	return nil
}

// escapeKey protects a document's map key that starts with "$" from being
// read back as a tag.
func escapeKey(k string) string {
	if strings.HasPrefix(k, "$") {
		return "$" + k
	}
	return k
}

const hexDigits = "0123456789abcdef"

// writeString writes s, valid UTF-8 without NUL, as a JSON string.
func writeString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// errCorrupt marks stored text that is not a document this package wrote.
var errCorrupt = errors.New("stored document is malformed")

// decoder implements driver.Decoder over the value tree.
type decoder struct{ val any }

func (d decoder) String() string { return fmt.Sprintf("%T", d.val) }
func (d decoder) AsNull() bool   { return d.val == nil }

func (d decoder) AsBool() (bool, bool) {
	b, ok := d.val.(bool)
	return b, ok
}

func (d decoder) AsString() (string, bool) {
	s, ok := d.val.(string)
	return s, ok
}

func (d decoder) AsInt() (int64, bool) {
	i, ok := d.val.(int64)
	return i, ok
}

func (d decoder) AsUint() (uint64, bool) {
	switch v := d.val.(type) {
	case int64:
		return uint64(v), v >= 0
	case uint64:
		return v, true
	}
	return 0, false
}

func (d decoder) AsFloat() (float64, bool) {
	switch v := d.val.(type) {
	case float64:
		return v, true
	case int64:
		// JSON written by other tools may spell 2.0 as 2.
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

func (d decoder) AsBytes() ([]byte, bool) {
	b, ok := d.val.([]byte)
	return b, ok
}

func (d decoder) AsInterface() (any, error) { return d.val, nil }

func (d decoder) ListLen() (int, bool) {
	s, ok := d.val.([]any)
	return len(s), ok
}

func (d decoder) DecodeList(f func(int, driver.Decoder) bool) {
	s, _ := d.val.([]any)
	for i, e := range s {
		if !f(i, decoder{e}) {
			return
		}
	}
}

func (d decoder) MapLen() (int, bool) {
	m, ok := d.val.(map[string]any)
	return len(m), ok
}

func (d decoder) DecodeMap(f func(string, driver.Decoder, bool) bool) {
	m, _ := d.val.(map[string]any)
	for k, v := range m {
		if !f(k, decoder{v}, true) {
			return
		}
	}
}

func (d decoder) AsSpecial(v reflect.Value) (bool, any, error) {
	if v.Type() != typeOfTime {
		return false, nil, nil
	}
	switch x := d.val.(type) {
	case time.Time:
		return true, x, nil
	case string:
		// Accept RFC 3339 text written by other tools.
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil {
			return true, nil, newError(gcerrors.InvalidArgument, err, "cannot decode %q as a time", x)
		}
		return true, t, nil
	}
	return true, nil, newError(gcerrors.InvalidArgument, nil, "cannot decode a %T as a time", d.val)
}
