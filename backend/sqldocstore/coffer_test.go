package sqldocstore

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
)

// cofferHarness opens each collection the way users do: a URL through
// backend.OpenCollection, which adds coffer's layout (key field ID, index on
// Scope and Key).
type cofferHarness struct {
	url func(n int64) string
}

// collections numbers every collection the harnesses make, so no two
// share a file or a table.
var collections atomic.Int64

func (h *cofferHarness) MakeCollection(ctx context.Context, _ *testing.T) (*docstore.Collection, error) {
	return backend.OpenCollection(ctx, h.url(collections.Add(1)))
}

func (h *cofferHarness) Close() {}

// TestCofferConformanceSQLite runs coffer's backend suite on SQLite files.
func TestCofferConformanceSQLite(t *testing.T) {
	dir := t.TempDir()
	backendtest.RunConformanceTests(t, func(context.Context, *testing.T) (backendtest.Harness, error) {
		return &cofferHarness{url: func(n int64) string {
			return "sqlite://" + filepath.ToSlash(filepath.Join(dir, fmt.Sprintf("coffer-%d.db", n)))
		}}, nil
	})
}

// TestCofferConformancePostgreSQL runs coffer's backend suite on
// PostgreSQL, one table per collection in a schema of its own.
func TestCofferConformancePostgreSQL(t *testing.T) {
	serverURL, schema := postgresURL(t)
	base := withSearchPath(t, serverURL, schema)
	backendtest.RunConformanceTests(t, func(context.Context, *testing.T) (backendtest.Harness, error) {
		return &cofferHarness{url: func(n int64) string {
			u, err := url.Parse(base)
			if err != nil {
				panic(err)
			}
			q := u.Query()
			q.Set("table", fmt.Sprintf("coffer_%d", n))
			u.RawQuery = q.Encode()
			return u.String()
		}}, nil
	})
}
