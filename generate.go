package coffer

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
)

// The sizes Generate accepts, in random bytes.
const (
	MinGenerateBytes = 16
	MaxGenerateBytes = 1024
)

// Generate returns a new random value: bytes random bytes from crypto/rand,
// encoded as URL-safe base64 without padding (letters, digits, '-' and '_'),
// so it can stand unquoted in a .env file, a shell command or a URL.
// Generate(32) gives 43 characters, 256 bits: Check never finds such a value
// weak. bytes must be 16 to 1024, else the error matches ErrInvalidOptions.
func Generate(bytes int) (Value, error) {
	if bytes < MinGenerateBytes || bytes > MaxGenerateBytes {
		return "", fmt.Errorf("%w: Generate takes %d to %d bytes, not %d", ErrInvalidOptions, MinGenerateBytes, MaxGenerateBytes, bytes)
	}
	buf := make([]byte, bytes)
	if _, err := rand.Read(buf); err != nil {
		return "", fmt.Errorf("coffer: generate: %w", err)
	}
	v := Value(base64.RawURLEncoding.EncodeToString(buf))
	clear(buf)
	return v, nil
}
