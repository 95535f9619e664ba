package coffer_test

import (
	"context"
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
