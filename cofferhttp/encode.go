package cofferhttp

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/coffer-go/coffer"
)

// The listing is the page's most frequent read and its largest answer (100
// secrets are 25 KB), so its JSON, a secret's and the keys listing's are
// appended directly instead of through encoding/json's reflection. The
// bytes are exactly encoding/json's for secretJSON, listResponse and
// keysResponse (FuzzAppendSecret holds them to it): the same field order,
// the same escaping of strings (HTML characters, U+2028 and U+2029, invalid
// UTF-8 as U+FFFD) and the same times, refused when encoding/json refuses
// them.

// appendListing appends the body of GET /api/secrets, with its final newline.
func appendListing(b []byte, env string, list []coffer.Secret) ([]byte, error) {
	b = append(b, `{"environment":`...)
	b = appendJSONString(b, env)
	b = append(b, `,"secrets":[`...)
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendSecret(b, s); err != nil {
			return nil, err
		}
	}
	return append(b, "]}\n"...), nil
}

// appendKeys appends the body of GET /api/keys, with its final newline.
func appendKeys(b []byte, env string, keys []string) []byte {
	b = append(b, `{"environment":`...)
	b = appendJSONString(b, env)
	b = append(b, `,"keys":[`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
	}
	return append(b, "]}\n"...)
}

// appendSecret appends a secret's metadata as encoding/json encodes
// toJSON(s), without a newline.
func appendSecret(b []byte, s coffer.Secret) ([]byte, error) {
	var err error
	b = append(b, `{"key":`...)
	b = appendJSONString(b, s.Key)
	b = append(b, `,"description":`...)
	b = appendJSONString(b, s.Description)
	b = append(b, `,"type":`...)
	b = appendJSONString(b, string(s.Type))
	b = append(b, `,"project":`...)
	b = appendJSONString(b, s.Project)
	b = append(b, `,"environment":`...)
	b = appendJSONString(b, s.Environment)
	b = append(b, `,"created_at":`...)
	if b, err = appendJSONTime(b, s.CreatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"updated_at":`...)
	if b, err = appendJSONTime(b, s.UpdatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"rotated_at":`...)
	if b, err = appendJSONTime(b, s.RotatedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"created_by":`...)
	b = appendJSONString(b, s.CreatedBy)
	b = append(b, `,"updated_by":`...)
	b = appendJSONString(b, s.UpdatedBy)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(s.Version), 10)
	return append(b, '}'), nil
}

// appendJSONTime appends t as time.Time's MarshalJSON does: RFC 3339 with
// nanoseconds, quoted; an error for a year outside 0..9999.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, err
	}
	return append(b, '"'), nil
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it by default.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				// Other control characters, and <, > and & (HTML).
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
