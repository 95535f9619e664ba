package sqldocstore

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
)

func roundTrip(t *testing.T, coll *docstore.Collection) {
	t.Helper()
	ctx := context.Background()
	r := newRecord("p/e", "URL_KEY")
	if err := coll.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := &record{ID: r.ID}
	if err := coll.Get(ctx, got); err != nil {
		t.Fatal(err)
	}
	if got.Key != "URL_KEY" {
		t.Errorf("got key %q", got.Key)
	}
}

func TestSQLiteURLs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	abs := filepath.Join(dir, "abs.db")
	coll, err := docstore.OpenCollection(ctx, "sqlite://"+abs+"?table=secrets&key_field=ID&index=Scope,Key")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, coll)
	if err := coll.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Errorf("absolute URL did not create %s: %v", abs, err)
	}

	t.Chdir(dir)
	coll, err = docstore.OpenCollection(ctx, "sqlite://sub.db?table=secrets&key_field=ID")
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, coll)
	if err := coll.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub.db")); err != nil {
		t.Errorf("relative URL did not create sub.db: %v", err)
	}

	for _, bad := range []string{
		"sqlite:///x.db?key_field=ID",
		"sqlite:///x.db?table=t",
		"sqlite:///x.db?table=t;drop&key_field=ID",
		"sqlite:///x.db?table=t&key_field=ID&cache=shared",
		"sqlite:///x.db?table=t&key_field=ID&index=",
	} {
		_, err := docstore.OpenCollection(ctx, bad)
		if errorCode(err) != gcerrors.InvalidArgument {
			t.Errorf("%s: got %v, want InvalidArgument", bad, err)
		}
	}
}

func TestPostgresURL(t *testing.T) {
	ctx := context.Background()
	serverURL, schema := postgresURL(t)
	u, err := url.Parse(withSearchPath(t, serverURL, schema))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("table", "secrets")
	q.Set("key_field", "ID")
	q.Add("index", "Scope,Key")
	u.RawQuery = q.Encode()
	coll, err := docstore.OpenCollection(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	roundTrip(t, coll)
	if err := coll.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestURLNeverInErrors opens URLs that fail, with a canary password, and
// checks no error quotes the password or the URL.
func TestURLNeverInErrors(t *testing.T) {
	ctx := context.Background()
	const canary = "Canary-Pw-4d1f"
	for _, u := range []string{
		"postgres://coffer:" + canary + "@127.0.0.1:1/db?table=t&key_field=ID&connect_timeout=2",
		"postgres://coffer:" + canary + "@127.0.0.1:1/db?table=t&key_field=ID&sslmode=bogus",
		"postgresql://coffer:" + canary + "@127.0.0.1:1/db?table=t&key_field=ID&pool_max_conns=x",
		"postgres://coffer:" + canary + "@127.0.0.1:1/db?key_field=ID",
		"sqlite://coffer:" + canary + "@/x.db?table=t&key_field=ID",
	} {
		_, err := docstore.OpenCollection(ctx, u)
		if err == nil {
			t.Errorf("opening a URL that cannot work succeeded")
			continue
		}
		if msg := err.Error(); strings.Contains(msg, canary) || strings.Contains(msg, "coffer:") {
			t.Errorf("error quotes the URL: %s", msg)
		}
	}
}
