package sqldocstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/coffer-go/coffer/internal/testengine"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/docstore/drivertest"
)

// tableSeq makes table names unique within one test binary run.
var tableSeq atomic.Int64

func freshTable() string { return fmt.Sprintf("t%d", tableSeq.Add(1)) }

type harness struct {
	db      *sql.DB
	d       Dialect
	closeDB bool
}

func (h *harness) MakeCollection(ctx context.Context, kind drivertest.CollectionKind) (driver.Collection, error) {
	switch kind {
	case drivertest.SingleKey, drivertest.NoRev:
		return newCollection(ctx, h.db, h.d, freshTable(), drivertest.KeyField, nil, nil)
	case drivertest.TwoKey:
		return newCollection(ctx, h.db, h.d, freshTable(), "", drivertest.HighScoreKey, nil)
	case drivertest.AltRev:
		return newCollection(ctx, h.db, h.d, freshTable(), drivertest.KeyField, nil, &Options{RevisionField: drivertest.AlternateRevisionField})
	}
	return nil, fmt.Errorf("unknown collection kind %v", kind)
}

func (*harness) BeforeDoTypes() []any               { return nil }
func (*harness) BeforeQueryTypes() []any            { return nil }
func (*harness) RevisionsEqual(rev1, rev2 any) bool { return rev1 == rev2 }
func (*harness) AtomicWritesKind() drivertest.AtomicWritesSupportKind {
	return drivertest.MultiplePartitions
}

func (h *harness) Close() {
	if h.closeDB {
		h.db.Close()
	}
}

// codecTester runs drivertest's codec checks against the JSON text this
// package stores, which is the store's native form.
type codecTester struct{}

func (codecTester) UnsupportedTypes() []drivertest.UnsupportedType { return nil }
func (c codecTester) NativeEncode(v any) (any, error)              { return c.DocstoreEncode(v) }
func (c codecTester) NativeDecode(v, dest any) error               { return c.DocstoreDecode(v, dest) }

func (codecTester) DocstoreEncode(v any) (any, error) {
	doc, err := driver.NewDocument(v)
	if err != nil {
		return nil, err
	}
	m, err := encodeDoc(doc, "")
	if err != nil {
		return nil, err
	}
	text, err := marshalDoc(m)
	return string(text), err
}

func (codecTester) DocstoreDecode(v, dest any) error {
	m, err := parseDoc([]byte(v.(string)))
	if err != nil {
		return err
	}
	doc, err := driver.NewDocument(dest)
	if err != nil {
		return err
	}
	return doc.Decode(decoder{m})
}

func TestConformanceSQLite(t *testing.T) {
	newHarness := func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		db, err := OpenSQLite(filepath.Join(t.TempDir(), "conformance.db"))
		if err != nil {
			return nil, err
		}
		return &harness{db: db, d: SQLite, closeDB: true}, nil
	}
	drivertest.RunConformanceTests(t, newHarness, codecTester{}, nil)
}

func TestConformancePostgreSQL(t *testing.T) {
	db := postgresDB(t)
	newHarness := func(ctx context.Context, t *testing.T) (drivertest.Harness, error) {
		return &harness{db: db, d: PostgreSQL}, nil
	}
	drivertest.RunConformanceTests(t, newHarness, codecTester{}, nil)
}

// postgresURL returns the server URL from COFFER_POSTGRES_URL and a fresh
// schema that the test's tables live in; the schema is dropped at the end.
func postgresURL(t testing.TB) (serverURL, schema string) {
	t.Helper()
	serverURL = testengine.Env(t, "COFFER_POSTGRES_URL")
	var b [6]byte
	rand.Read(b[:])
	schema = "sqldocstore_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("drop schema: %v", err)
		}
		admin.Close()
	})
	return serverURL, schema
}

// withSearchPath returns serverURL with its search_path set to schema.
func withSearchPath(t testing.TB, serverURL, schema string) string {
	t.Helper()
	u, err := url.Parse(serverURL)
	if err != nil {
		t.Fatal("COFFER_POSTGRES_URL is not a URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresDB opens a pool whose tables go to a fresh schema.
func postgresDB(t testing.TB) *sql.DB {
	t.Helper()
	serverURL, schema := postgresURL(t)
	db, err := sql.Open("pgx", withSearchPath(t, serverURL, schema))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
