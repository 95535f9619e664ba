package cofferhttp

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/benchpair"
)

// BenchmarkHandler measures what the HTTP layer adds to a Manager call:
// each iteration runs the Manager's own call (manager) and the same
// operation through the handler (http: authentication, routing, the
// request log, JSON), back to back, and reports the median of http/manager.
// The Manager writes its audit log and the handler its request log to a
// file, as examples/server does. Three operations, over 100 secrets:
// the listing (a viewer), one secret's metadata (a viewer) and one value
// (a reader); on SQLite, and on PostgreSQL when COFFER_POSTGRES_URL is set.
//
//	go test ./cofferhttp -run '^$' -bench Handler -benchtime 2s
func BenchmarkHandler(b *testing.B) {
	stores := map[string]func(testing.TB) replicaStore{"sqlite": sqliteReplicaStore}
	if os.Getenv("COFFER_POSTGRES_URL") != "" {
		stores["postgres"] = postgresReplicaStore
	}
	for _, name := range []string{"sqlite", "postgres"} {
		open, ok := stores[name]
		if !ok {
			continue
		}
		b.Run("store="+name, func(b *testing.B) {
			m, h := benchHandler(b, open)
			ops := []struct {
				name    string
				manager func(ctx context.Context) error
				target  string
				header  string
			}{
				{"list", func(ctx context.Context) error { _, err := m.List(ctx); return err }, "/api/secrets?env=production", "Bearer " + viewerToken},
				{"get", func(ctx context.Context) error { _, err := m.Get(ctx, "KEY_050"); return err }, "/api/secrets/KEY_050?env=production", "Bearer " + viewerToken},
				{"value", func(ctx context.Context) error { _, _, err := m.RevealSecret(ctx, "KEY_050"); return err }, "/api/secrets/KEY_050/value?env=production", "Bearer " + readerToken},
			}
			for _, op := range ops {
				b.Run("op="+op.name, func(b *testing.B) {
					req := httptest.NewRequest("GET", op.target, nil)
					req.Header.Set("Authorization", op.header)
					viaHTTP := func(ctx context.Context, _ int) error {
						w := &discardWriter{header: http.Header{}}
						h.ServeHTTP(w, req)
						if w.status != http.StatusOK {
							return fmt.Errorf("status %d", w.status)
						}
						return nil
					}
					direct := func(ctx context.Context, _ int) error {
						return op.manager(coffer.WithActor(ctx, "viewer"))
					}
					benchpair.Run(b, false, benchpair.Impl{Name: "manager", Run: direct}, benchpair.Impl{Name: "http", Run: viaHTTP})
				})
			}
		})
	}
}

// benchHandler opens a Manager of environment production over a fresh
// store holding 100 secrets (64-byte values) and a handler over it, both
// logging to a file.
func benchHandler(b *testing.B, open func(testing.TB) replicaStore) (*coffer.Manager, http.Handler) {
	st := open(b)
	logFile, err := os.Create(filepath.Join(b.TempDir(), "log.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { logFile.Close() })
	logger := slog.New(slog.NewJSONHandler(logFile, nil))
	root, err := coffer.Open(context.Background(), st.url, st.keeperURL, &coffer.Options{AuditLog: logger.With("log", "audit")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { root.Close() })
	m, err := root.Environment("production")
	if err != nil {
		b.Fatal(err)
	}
	ctx := coffer.WithActor(context.Background(), "seed")
	for i := 1; i <= 100; i++ {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: fmt.Sprintf("KEY_%03d", i), Value: coffer.Value(strings.Repeat("v", 64)), Description: fmt.Sprintf("secret %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	h, err := NewHandler(root, &Options{Environments: []string{"production"}, Tokens: testTokens,
		Log: logger.With("log", "http"), AuditLog: logger.With("log", "audit")})
	if err != nil {
		b.Fatal(err)
	}
	return m, h
}

// discardWriter is a ResponseWriter that keeps only the status.
type discardWriter struct {
	header http.Header
	status int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return io.Discard.Write(p)
}
