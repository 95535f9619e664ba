// Package redact keeps URLs out of error messages: a keeper URL such as
// base64key://... holds key material, and a database URL may hold a password.
package redact

import (
	"errors"
	"fmt"
	"strings"
)

// window is the length of the URL pieces that must not survive in a message.
const window = 6

// Error wraps err as "what (scheme "s"): detail", where detail is err's
// message with the URL removed. When any piece of the URL after its scheme
// still shows in the message, the detail is withheld altogether. The result
// keeps err in its chain for errors.Is and errors.As unless the detail was
// withheld.
func Error(what, rawURL string, err error) error {
	scheme, rest, found := strings.Cut(rawURL, "://")
	if !found {
		// No scheme at all: the whole string is the secret part (a key or a
		// password pasted where a URL belongs), so none of it is shown.
		scheme, rest = "", rawURL
	}
	if len(scheme) > 32 || strings.ContainsAny(scheme, "/?#@:") {
		scheme = ""
	}
	msg := err.Error()
	if rawURL != "" {
		msg = strings.ReplaceAll(msg, rawURL, "[URL]")
	}
	if rest != "" {
		msg = strings.ReplaceAll(msg, rest, "[URL]")
	}
	if Leaks(msg, rest) {
		return fmt.Errorf("%s (scheme %q): %w", what, scheme, errWithheld)
	}
	return &wrapped{msg: fmt.Sprintf("%s (scheme %q): %s", what, scheme, msg), err: err}
}

// errWithheld stands in for a cause whose message would show the URL.
var errWithheld = errors.New("details withheld because they would show the URL")

// Leaks reports whether msg contains any piece of secret at least window
// bytes long (or all of a shorter secret, when it is not empty).
func Leaks(msg, secret string) bool {
	if secret == "" {
		return false
	}
	if len(secret) < window {
		return strings.Contains(msg, secret)
	}
	for i := 0; i+window <= len(secret); i++ {
		if strings.Contains(msg, secret[i:i+window]) {
			return true
		}
	}
	return false
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }
