package e2e_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite://, the store the test shares with the server
	"github.com/coffer-go/coffer/cofferhttp"
)

// testToken is the server's access token (COFFER_SERVER_TOKEN).
const testToken = "test-token-0123456789abcdefghij"

// fixedNow is the clock of the secrets the test seeds, so their creation
// dates on the page are known.
var fixedNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// store is what the test and the server share: a SQLite file sealed under
// one local key. The test seeds and inspects it through its own Manager
// while the server runs; SQLite in WAL mode lets two connection pools (or
// processes) share the file.
type store struct {
	t         *testing.T
	url       string // sqlite:///PATH
	keeperURL string // base64key://KEY
	m         *coffer.Manager
	envs      map[string]*coffer.Manager
}

// newStore makes a fresh store in a temporary directory and opens the
// test's Manager on it, with the fixed clock.
func newStore(t *testing.T) *store {
	t.Helper()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	s := &store{
		t:         t,
		url:       "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "coffer.db")),
		keeperURL: "base64key://" + base64.URLEncoding.EncodeToString(key[:]),
		envs:      map[string]*coffer.Manager{},
	}
	s.m, err = coffer.Open(context.Background(), s.url, s.keeperURL, &coffer.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.m.Close() })
	return s
}

// env returns the test's Manager of an environment, to check through the
// library what the server did.
func (s *store) env(name string) *coffer.Manager {
	s.t.Helper()
	if m, ok := s.envs[name]; ok {
		return m
	}
	m, err := s.m.Environment(name)
	if err != nil {
		s.t.Fatal(err)
	}
	s.envs[name] = m
	return m
}

// seed stores a secret through the library.
func (s *store) seed(env, key, value, description string) {
	s.t.Helper()
	ctx := coffer.WithActor(context.Background(), "seed")
	if _, err := s.env(env).Create(ctx, coffer.NewSecret{Key: key, Value: coffer.Value(value), Description: description}); err != nil {
		s.t.Fatal(err)
	}
}

// server is the Secrets page and API under test.
type server struct {
	// URL is where it serves the page and the API, "http://127.0.0.1:PORT/".
	URL string

	// Output returns everything the server logged (audit and request
	// logs); it is complete once the test's cleanups have run.
	Output func() string
}

// The tokens the server accepts: the admin's (testToken) and a viewer's.
const viewerToken = "viewer-token-0123456789abcdefgh"

// startServer serves cofferhttp's handler over st's store, as examples/server
// and `coffer serve` do, on 127.0.0.1 (httptest) until the test ends. The
// handler has a Manager of its own on the store (its own connection pool and
// the real clock), so what the test's Manager sees is what any other program
// on the store would see.
func startServer(t *testing.T, st *store) *server {
	t.Helper()
	out := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(out, nil))
	m, err := coffer.Open(context.Background(), st.url, st.keeperURL, &coffer.Options{AuditLog: logger.With("log", "audit")})
	if err != nil {
		t.Fatal(err)
	}
	h, err := cofferhttp.NewHandler(m, &cofferhttp.Options{
		Environments: []string{"development", "staging", "production"},
		Tokens: []cofferhttp.Token{
			{Name: "admin", Secret: testToken, Role: cofferhttp.RoleAdmin},
			{Name: "vera", Secret: viewerToken, Role: cofferhttp.RoleViewer, Environments: []string{"production"}},
		},
		Log:      logger.With("log", "http"),
		AuditLog: logger.With("log", "audit"),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := m.Close(); err != nil {
			t.Errorf("close the server's Manager: %v", err)
		}
	})
	return &server{URL: srv.URL + "/", Output: out.String}
}

// syncBuffer collects a process's output from several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
