package redact

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestError(t *testing.T) {
	const u = "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	inner := fmt.Errorf("open keeper %q: bad key", u)
	err := Error("coffer: open keeper", u, inner)
	if got, want := err.Error(), `coffer: open keeper (scheme "base64key"): open keeper "[URL]": bad key`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(err, inner) {
		t.Error("lost the cause")
	}
	partial := fmt.Errorf("key %s is too short", "smGbjm71Nxd1")
	if err := Error("coffer: open keeper", u, partial); strings.Contains(err.Error(), "smGbjm") || errors.Is(err, partial) {
		t.Errorf("partial URL shown or kept: %v", err)
	}
}

// TestErrorNoScheme: a string without "://" (a key or password pasted where
// a URL belongs) is all secret: it never shows, not even as the scheme.
func TestErrorNoScheme(t *testing.T) {
	for _, u := range []string{"0123456789abcdef0123456789abcdef", "hunter2hunter2", "pa55word"} {
		err := Error("coffer: open keeper", u, fmt.Errorf("no scheme in URL %q", u))
		if Leaks(err.Error(), u) {
			t.Errorf("Error(%q) = %q shows the string", u, err)
		}
		if want := `coffer: open keeper (scheme ""): `; !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Error(%q) = %q, want prefix %q", u, err, want)
		}
	}
}

// FuzzError: no piece of the URL after its scheme (6 bytes or more) ever
// shows in the message, whatever the cause says.
func FuzzError(f *testing.F) {
	f.Add("base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", "parse %q: invalid", 3)
	f.Add("postgres://user:pa55word@127.0.0.1/db", "dial: password pa55word rejected", 0)
	f.Add("://", "%s", 0)
	f.Fuzz(func(t *testing.T, u, cause string, cut int) {
		msg := strings.ReplaceAll(cause, "%q", u)
		if _, rest, ok := strings.Cut(u, "://"); ok && len(rest) > 0 && cut >= 0 {
			msg += rest[:cut%len(rest)+1]
		}
		err := Error("open", u, errors.New(msg))
		scheme, rest, found := strings.Cut(u, "://")
		if !found {
			scheme, rest = "", u
		}
		detail := err.Error()
		if i := strings.Index(detail, "): "); i >= 0 {
			detail = detail[i+3:] // the caller's words and the scheme are not the URL's secret part
		}
		if detail == errWithheld.Error() {
			return
		}
		if len(rest) >= window && Leaks(detail, rest) {
			t.Fatalf("message %q shows part of %q (scheme %q)", err, rest, scheme)
		}
	})
}
