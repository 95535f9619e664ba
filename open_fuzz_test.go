package coffer_test

import (
	"context"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
)

// secretPart is what of a URL must never show in an error: everything after
// "://", or the whole string when it has no scheme (a key or a password
// pasted where a URL belongs).
func secretPart(u string) (scheme, secret string) {
	scheme, secret, found := strings.Cut(u, "://")
	if !found {
		return "", u
	}
	return scheme, secret
}

// leakWindow is the length of the URL pieces no error may show.
const leakWindow = 6

// withheld is redact's whole detail when any other would show the URL.
const withheld = "details withheld because they would show the URL"

// FuzzOpen: Open never panics on any pair of URLs, and its error shows no
// piece of either URL beyond the scheme.
func FuzzOpen(f *testing.F) {
	f.Add("mem://fuzz", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=")
	f.Add("mem://fuzz", "base64key://bm90LWEta2V5")
	f.Add("mem://fuzz", "stringkey://hunter2hunter2")
	f.Add("mem://fuzz/extra?x=1", "base64key://")
	f.Add("postgres://user:pa55word@127.0.0.1:1/db?sslmode=disable", "base64key://")
	f.Add("mongo://db/coll?id_field=Other", "awskms://alias/x?region=eu-west-2")
	f.Add("mongo://db/coll?claims=maybe", "base64key://")
	f.Add("sqlite:///tmp/x.db?claims=true", "base64key://")
	f.Add("firestore://projects/p/databases/d/documents/c?name_field=ID", "base64key://")
	f.Add("0123456789abcdef0123456789abcdef", "hunter2hunter2")
	f.Add("mem://fuzz", "0123456789abcdef0123456789abcdef")
	f.Add("%zz://bad", "::")
	f.Add("mem://user:pa55word@fuzz", "base64key://%zz")
	f.Add("", "")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, collURL, keeperURL string) {
		collURL = confineSQLite(collURL, t.TempDir())
		m, err := coffer.Open(ctx, collURL, keeperURL, nil)
		if err == nil {
			if err := m.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return
		}
		msg := err.Error()
		for _, c := range []struct{ what, url string }{
			{"coffer: open collection", collURL},
			{"coffer: open keeper", keeperURL},
		} {
			scheme, secret := secretPart(c.url)
			head, detail, ok := strings.Cut(msg, "): ")
			if !ok || !strings.HasPrefix(head, c.what+" (scheme ") {
				continue // the error is about the other URL
			}
			// The caller's words and the scheme are not secret; the scheme
			// shown is the URL's own (or none).
			if shown := strings.TrimPrefix(head, c.what+" (scheme "); shown != `""` && shown != strconv.Quote(scheme) {
				t.Fatalf("error %q shows %s as the scheme of %q", msg, shown, c.url)
			}
			// Every piece of six bytes of the secret part, each checked
			// here on its own rather than through the redact package the
			// code withholds with. A shorter URL can match any text by
			// chance.
			if detail != withheld {
				for i := 0; i+leakWindow <= len(secret); i++ {
					if piece := secret[i : i+leakWindow]; strings.Contains(detail, piece) {
						t.Fatalf("error %q shows %q, a piece of the URL %q", msg, piece, c.url)
					}
				}
			}
			return
		}
		t.Fatalf("Open(%q, %q): error %q names neither the collection nor the keeper", collURL, keeperURL, msg)
	})
}

// confineSQLite moves the file a sqlite:// URL names into dir, so that the
// fuzzer's paths create no database outside the test's temporary directory.
// The URL keeps its other parts (user, query, fragment), and an empty path
// stays empty, so the opener's checks still meet them.
func confineSQLite(raw, dir string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "sqlite" || u.Opaque != "" || u.Host+u.Path == "" {
		return raw
	}
	name := strings.ReplaceAll(strings.TrimLeft(u.Host+u.Path, "/"), "..", "__")
	u.Host, u.Path, u.RawPath = "", dir+"/"+name, ""
	return u.String()
}

// TestConfineSQLite: every sqlite:// path FuzzOpen passes on names a file
// inside the temporary directory, and other URLs pass unchanged.
func TestConfineSQLite(t *testing.T) {
	dir := t.TempDir()
	for _, raw := range []string{
		"sqlite:///tmp/x.db?claims=true", "sqlite://rel.db", "sqlite://../../x.db", "sqlite:///..%2F..%2Fx.db",
		"sqlite://u:p@h/x.db", "SQLITE:///etc/x.db#f", "sqlite://./../x.db",
	} {
		u, err := url.Parse(confineSQLite(raw, dir))
		if err != nil {
			t.Fatalf("confineSQLite(%q): %v", raw, err)
		}
		if p := filepath.Clean(u.Host + u.Path); !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Errorf("confineSQLite(%q) names %q, outside %s", raw, p, dir)
		}
	}
	for _, raw := range []string{"sqlite://", "sqlite:x.db", "mem://sqlite/x", "%zz://bad"} {
		if got := confineSQLite(raw, dir); got != raw {
			t.Errorf("confineSQLite(%q) = %q, want it unchanged", raw, got)
		}
	}
}
