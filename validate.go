package coffer

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/go-multierror"
)

// Limits of the rules table.
const (
	// MaxKeyBytes is the longest key, in bytes.
	MaxKeyBytes = 256
	// DefaultMaxValueBytes is the default value limit: 64 KiB, the size AWS
	// Secrets Manager and Google Secret Manager cap a secret at.
	DefaultMaxValueBytes = 65536
	// MaxDescriptionChars is the longest description, in characters.
	MaxDescriptionChars = 1024
	// MaxNameLen is the longest project or environment name.
	MaxNameLen = 64
	// MaxTypeLen is the longest type name.
	MaxTypeLen = 64
)

// problems collects every problem of one call, so a caller (and the page)
// can show them all at once.
type problems struct{ err *multierror.Error }

func (p *problems) add(err error) {
	if err != nil {
		p.err = multierror.Append(p.err, err)
	}
}

// result returns nil, the one problem, or all of them joined. Each still
// matches its sentinel with errors.Is.
func (p *problems) result() error {
	if p.err == nil {
		return nil
	}
	if len(p.err.Errors) == 1 {
		return p.err.Errors[0]
	}
	p.err.ErrorFormat = joinErrors
	return p.err
}

func joinErrors(errs []error) string {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// Validate reports every problem Create would find in s under the
// Manager's rules — key, value, description and type, all at once — without
// reading or writing the store. nil means Create accepts s unless its key is
// taken. A program adding many secrets (an import) checks them all with it
// before writing any.
func (m *Manager) Validate(s NewSecret) error {
	var p problems
	p.add(validateKey(s.Key, m.opts.RequireUppercase))
	if s.Value == "" {
		p.add(ErrValueRequired)
	} else {
		p.add(validateValue(s.Value, m.opts.MaxValueBytes))
	}
	p.add(validateDescription(s.Description))
	p.add(validateType(s.Type))
	return p.result()
}

// ValidateKey checks key against the key rules that every read applies
// (letters, digits and underscores, not starting with a digit, at most
// MaxKeyBytes): ErrKeyRequired or ErrInvalidKey naming the offending
// character. A program that takes a key from its configuration checks it
// here before it first reads the store. Options.RequireUppercase is a rule of
// writes and is not checked.
func ValidateKey(key string) error { return validateKey(key, false) }

// validateKey checks a key against the key rules.
func validateKey(key string, requireUpper bool) error {
	if key == "" {
		return ErrKeyRequired
	}
	if len(key) > MaxKeyBytes {
		return fmt.Errorf("%w: key is %d bytes, longer than %d", ErrInvalidKey, len(key), MaxKeyBytes)
	}
	// pos counts characters from 1, as a person reading the key does.
	for i, pos := 0, 1; i < len(key); pos++ {
		r, size := utf8.DecodeRuneInString(key[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return fmt.Errorf("%w: byte 0x%02x at position %d is not valid UTF-8; use letters, digits and underscores", ErrInvalidKey, key[i], pos)
		case i == 0 && r >= '0' && r <= '9':
			return fmt.Errorf("%w: %q starts with a digit (%s); start with a letter or underscore", ErrInvalidKey, key, strconv.QuoteRune(r))
		case r >= 'a' && r <= 'z':
			if requireUpper {
				return fmt.Errorf("%w: %q has lower-case %s at position %d; this project requires UPPERCASE keys such as %q", ErrInvalidKey, key, strconv.QuoteRune(r), pos, strings.ToUpper(key))
			}
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
		default:
			return fmt.Errorf("%w: character %s at position %d is not allowed; use letters, digits and underscores", ErrInvalidKey, strconv.QuoteRune(r), pos)
		}
		i += size
	}
	return nil
}

// validateValue checks a value's size and bytes. Emptiness is the caller's
// rule: required on create, "keep the current value" on update. The error
// never quotes the value.
func validateValue(v Value, maxBytes int) error {
	if len(v) > maxBytes {
		return fmt.Errorf("%w: value is %d bytes, the limit is %d", ErrValueTooLarge, len(v), maxBytes)
	}
	if i := strings.IndexByte(string(v), 0); i >= 0 {
		return fmt.Errorf("%w: value holds a NUL byte at byte %d (counting from 1), which an environment variable cannot carry", ErrInvalidValue, i+1)
	}
	return nil
}

// validateDescription checks an optional description.
func validateDescription(d string) error {
	if !utf8.ValidString(d) {
		return fmt.Errorf("%w: description is not valid UTF-8", ErrInvalidDescription)
	}
	if n := utf8.RuneCountInString(d); n > MaxDescriptionChars {
		return fmt.Errorf("%w: description is %d characters, the limit is %d", ErrDescriptionTooLong, n, MaxDescriptionChars)
	}
	return nil
}

// validateType checks a set type: a lower-case identifier.
func validateType(t Type) error {
	if t == "" {
		return nil
	}
	if len(t) > MaxTypeLen {
		return fmt.Errorf("%w: type is %d bytes, longer than %d", ErrInvalidType, len(t), MaxTypeLen)
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9') {
			continue
		}
		return fmt.Errorf("%w: %q is not a lower-case identifier (letters a-z, digits, underscores; not starting with a digit)", ErrInvalidType, string(t))
	}
	return nil
}

// validateName checks a project or environment name; what says which.
func validateName(what, name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: %s name is %d bytes, longer than %d", ErrInvalidName, what, len(name), MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' {
			continue
		}
		return fmt.Errorf("%w: %s name %q has %q at position %d; use letters, digits, '-' and '_'", ErrInvalidName, what, name, rune(c), i)
	}
	return nil
}

// InferType returns the type the rules give a key when none is set. The
// suffix rules are tried first, so DATABASE_PASSWORD is a password and
// DATABASE_URL a connection string. Matching ignores case.
func InferType(key string) Type {
	k := strings.ToUpper(key)
	is := func(word string) bool { return k == word || strings.HasSuffix(k, "_"+word) }
	switch {
	case is("API_KEY"):
		return TypeAPIKey
	case is("TOKEN"):
		return TypeToken
	case is("PASSWORD"):
		return TypePassword
	case k == "AWS_ACCESS_KEY_ID" || is("SECRET_ACCESS_KEY"):
		return TypeCredential
	case is("ENCRYPTION_KEY") || is("SIGNING_KEY"):
		return TypeEncryptionKey
	case is("URL") || is("DSN") || strings.HasPrefix(k, "DATABASE_"):
		return TypeConnectionString
	}
	return TypeGeneric
}
