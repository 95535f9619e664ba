package sqldocstore

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/gcerrors"
)

// refParseValue is the parser of stored data before parse.go: encoding/json,
// then a conversion of its tree. FuzzParseMatchesEncodingJSON holds the
// parser to it.
func refParseValue(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var raw any
	if err := d.Decode(&raw); err != nil {
		return nil, corrupt("%v", err)
	}
	if _, err := d.Token(); err == nil {
		return nil, corrupt("trailing data")
	}
	return refFromJSON(raw)
}

func refFromJSON(raw any) (any, error) {
	switch v := raw.(type) {
	case nil, bool, string:
		return v, nil
	case json.Number:
		return refParseNumber(string(v))
	case []any:
		for i, e := range v {
			x, err := refFromJSON(e)
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
		return v, nil
	case map[string]any:
		for k := range v {
			if strings.HasPrefix(k, "$") && !strings.HasPrefix(k, "$$") {
				return refFromTag(v)
			}
		}
		m := make(map[string]any, len(v))
		for k, e := range v {
			x, err := refFromJSON(e)
			if err != nil {
				return nil, err
			}
			m[strings.TrimPrefix(k, "$")] = x
		}
		return m, nil
	default:
		return nil, corrupt("unexpected JSON value of type %T", raw)
	}
}

func refParseNumber(s string) (any, error) {
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

// refFromTag reads a tagged object back into the Go value it stands for.
func refFromTag(m map[string]any) (any, error) {
	str := func(k string) (string, bool) {
		s, ok := m[k].(string)
		return s, ok
	}
	switch {
	case len(m) == 1 && m["$b"] != nil:
		s, ok := str("$b")
		if !ok {
			return nil, corrupt("$b is not a string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, corrupt("$b: %v", err)
		}
		return b, nil
	case len(m) == 1 && m["$s"] != nil:
		s, ok := str("$s")
		if !ok {
			return nil, corrupt("$s is not a string")
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, corrupt("$s: %v", err)
		}
		return string(b), nil
	case len(m) == 1 && m["$f"] != nil:
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
	case len(m) == 2 && m["$t"] != nil && m["$z"] != nil:
		s, ok := str("$t")
		if !ok {
			return nil, corrupt("$t is not a string")
		}
		t, err := time.Parse(timeLayout, s)
		if err != nil {
			return nil, corrupt("$t: %v", err)
		}
		n, ok := m["$z"].(json.Number)
		if !ok {
			return nil, corrupt("$z is not a number")
		}
		off, err := strconv.ParseInt(string(n), 10, 32)
		if err != nil || off < -24*3600 || off > 24*3600 {
			return nil, corrupt("$z is not a UTC offset")
		}
		if off == 0 {
			return t, nil
		}
		return t.In(time.FixedZone("", int(off))), nil
	}
	return nil, corrupt("unknown tagged value")
}

// FuzzParseMatchesEncodingJSON holds parseValue to the parser it replaced:
// what it accepts, the old one accepted with the same value; what it
// refuses, the old one refused too, unless the text is not JSON at all
// (the old one ignored junk after the value when it could not start a
// token).
func FuzzParseMatchesEncodingJSON(f *testing.F) {
	text, err := marshalDoc(edgeDoc())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(text), `{}`, `[]`, ` [1, 2.5, -0, 1e3, 1E-2, -0.0] `, `{"a": {"$t": "2019-03-27T00:00:00.000000000Z", "$z": 3600}}`,
		`"\ud83d\ude00"`, `"\ud83d"`, `"\ud83d\u0041"`, `"\udc00\ud800x"`, `"\u00e9\t\n\"\\\/\b\f\r"`, "\"a\xffb\xc3\"", `"\u12"`,
		`{"$$a": 1, "$$b": {"$$c": [true, false, null]}}`, `{"a": 1, "a": 2}`, `{"$b": "AA==", "$b": "AQ=="}`,
		`{"a":{"$t":"2019-02-29T00:00:00.000000000Z","$z":0}}`, `{"a":{"$t":"2019-03-27T24:00:00.000000000Z","$z":0}}`,
		`{"a":{"$t":"2019-03-27T00:00:00.000000000Z","$z":86401}}`, `{"a":{"$t":"2019-03-27T00:00:00.000000000Z","$z":1.0}}`,
		`{"a":1} x`, `{"a":1}{}`, `01`, `-`, `1.`, `.5`, `1e`, `tru`, `nul`, `[1,]`, `{"a"}`, `{"a":1,}`, `[[[[[[]]]]]]`,
		`18446744073709551615`, `18446744073709551616`, `-9223372036854775809`, `1e400`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseValue(data)
		want, refErr := refParseValue(data)
		if err != nil {
			if errorCode(err) != gcerrors.Internal {
				t.Fatalf("error %v is not Internal", err)
			}
			if refErr == nil && json.Valid(data) {
				t.Fatalf("refused %q, which the old parser read as %#v: %v", data, want, err)
			}
			return
		}
		if refErr != nil {
			t.Fatalf("read %q as %#v; the old parser refused it: %v", data, got, refErr)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Fatalf("%q (-old +new):\n%s", data, diff)
		}
		// A projection's size hint changes nothing but the allocation.
		hinted, err := parseValueHint(data, 3)
		if err != nil {
			t.Fatalf("parseValueHint(%q): %v", data, err)
		}
		if diff := cmp.Diff(got, hinted, cmpOpts); diff != "" {
			t.Fatalf("%q (-parseValue +parseValueHint):\n%s", data, diff)
		}
	})
}

// FuzzParseTime: parseTime is time.Parse(timeLayout, s).
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2019-03-27T00:00:00.000000000Z", "0000-01-01T00:00:00.000000000Z", "9999-12-31T23:59:59.999999999Z",
		"2019-02-29T00:00:00.000000000Z", "2020-02-29T00:00:00.000000000Z", "2019-04-31T00:00:00.000000000Z",
		"2019-13-01T00:00:00.000000000Z", "2019-00-01T00:00:00.000000000Z", "2019-01-00T00:00:00.000000000Z",
		"2019-01-01T24:00:00.000000000Z", "2019-01-01T00:60:00.000000000Z", "2019-01-01T00:00:60.000000000Z",
		"2019-01-01T0:00:00.0000000000Z", "2019-01-01T00:00:00.00000000aZ", "-019-01-01T00:00:00.000000000Z", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parseTime(s)
		want, refErr := time.Parse(timeLayout, s)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("parseTime(%q): %v; time.Parse: %v", s, err, refErr)
		}
		if err == nil && (!got.Equal(want) || got.Location() != want.Location()) {
			t.Fatalf("parseTime(%q) = %v; time.Parse = %v", s, got, want)
		}
	})
}
