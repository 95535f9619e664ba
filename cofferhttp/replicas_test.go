package cofferhttp

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coffer-go/coffer"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite:// and postgres://, and the pgx driver
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/internal/testengine"
)

// replicaStore is a store several handlers open independently, as replicas
// of one service would: its collection URL and keeper URL.
type replicaStore struct {
	url, keeperURL string
}

// sqliteReplicaStore is a SQLite file in the test's temporary directory.
func sqliteReplicaStore(t testing.TB) replicaStore {
	return replicaStore{
		url:       "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "replicas.db")),
		keeperURL: randomKeeperURL(t),
	}
}

// postgresReplicaStore is a fresh table on the PostgreSQL server of
// COFFER_POSTGRES_URL, dropped when the test ends.
func postgresReplicaStore(t testing.TB) replicaStore {
	server := testengine.Env(t, testengine.PostgresURL)
	var b [6]byte
	_, _ = rand.Read(b[:])
	table := "cofferhttp_replicas_" + hex.EncodeToString(b[:])
	sep := "?"
	if strings.Contains(server, "?") {
		sep = "&"
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", server)
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			t.Errorf("drop table: %v", err)
		}
	})
	return replicaStore{url: server + sep + "table=" + table, keeperURL: randomKeeperURL(t)}
}

func randomKeeperURL(t testing.TB) string {
	var key [32]byte
	_, _ = rand.Read(key[:])
	return "base64key://" + base64.URLEncoding.EncodeToString(key[:])
}

// replica is one handler over its own Manager (its own connection pool) of
// a shared store.
type replica struct {
	m *coffer.Manager
	h http.Handler
}

// clock is a test clock several replicas share.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openReplica(t *testing.T, st replicaStore, key []byte, tokens []Token, c *clock, audit *syncBuffer) replica {
	t.Helper()
	m, err := coffer.Open(context.Background(), st.url, st.keeperURL, &coffer.Options{AuditLog: slog.New(slog.NewJSONHandler(audit, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	h, err := NewHandler(m, &Options{Environments: testEnvironments, Tokens: tokens, SessionKey: key, Now: c.Now,
		AuditLog: slog.New(slog.NewJSONHandler(audit, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return replica{m: m, h: h}
}

func (r replica) serve(req *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r.h.ServeHTTP(w, req)
	return w
}

// TestReplicas runs two handlers over one store, as two replicas of a
// service behind a load balancer, sharing the session key: a session signed
// in on one works on the other (CSRF token included); a sign-out on one
// holds on the other within SignOutRefresh, and at once on a replica that
// has not read the sign-out list yet; a handler with another key or with
// the token's secret replaced refuses the session; the store never holds a
// session id, and expired sign-outs are deleted. On SQLite (a file the
// replicas share) and on PostgreSQL.
func TestReplicas(t *testing.T) {
	for name, open := range map[string]func(testing.TB) replicaStore{"sqlite": sqliteReplicaStore, "postgres": postgresReplicaStore} {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			key := make([]byte, SessionKeyLen)
			_, _ = rand.Read(key)
			c := &clock{now: time.Now()}
			audit := &syncBuffer{}
			a := openReplica(t, st, key, testTokens, c, audit)
			b := openReplica(t, st, key, testTokens, c, audit)

			// Sign in on A.
			w := a.serve(request("POST", "/api/session", `{"token":"`+testToken+`"}`))
			if w.Code != http.StatusCreated {
				t.Fatalf("sign in on A: %d %s", w.Code, w.Body)
			}
			var s pageSession
			s.cookie = w.Result().Cookies()[0]
			s.csrf = decode(t, w.Body.Bytes()).(map[string]any)["csrf_token"].(string)

			// B accepts A's session and its CSRF token.
			if w := b.serve(s.req("POST", "/api/secrets?env=staging", `{"key":"FROM_B","value":"v"}`)); w.Code != http.StatusCreated {
				t.Fatalf("create on B with A's session: %d %s", w.Code, w.Body)
			}
			if w := a.serve(s.req("GET", "/api/secrets/FROM_B?env=staging", "")); w.Code != 200 || !strings.Contains(w.Body.String(), `"created_by":"admin"`) {
				t.Errorf("A reads what B created: %d %s", w.Code, w.Body)
			}

			// Sign out on A: A refuses at once.
			if w := a.serve(s.req("DELETE", "/api/session", "")); w.Code != http.StatusNoContent {
				t.Fatalf("sign out on A: %d %s", w.Code, w.Body)
			}
			if w := a.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
				t.Errorf("A after the sign-out: %d, want 401", w.Code)
			}
			// A replica that never read the sign-out list refuses at once.
			fresh := openReplica(t, st, key, testTokens, c, audit)
			if w := fresh.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
				t.Errorf("a fresh replica after the sign-out: %d, want 401", w.Code)
			}
			// B read the list a moment ago; it refuses once SignOutRefresh
			// has passed.
			c.advance(SignOutRefresh)
			if w := b.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
				t.Errorf("B %s after the sign-out on A: %d, want 401", SignOutRefresh, w.Code)
			}

			// A new session works on B; another key, or the token with a
			// new secret, refuses it.
			w = a.serve(request("POST", "/api/session", `{"token":"`+testToken+`"}`))
			s2 := pageSession{cookie: w.Result().Cookies()[0]}
			if w := b.serve(s2.req("GET", "/api/secrets", "")); w.Code != 200 {
				t.Errorf("a second session on B: %d, want 200", w.Code)
			}
			other := make([]byte, SessionKeyLen)
			if w := openReplica(t, st, other, testTokens, c, audit).serve(s2.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
				t.Errorf("a replica with another session key: %d, want 401", w.Code)
			}
			rotated := slices.Clone(testTokens)
			rotated[0].Secret = "a-new-admin-secret-0123456789"
			if w := openReplica(t, st, key, rotated, c, audit).serve(s2.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
				t.Errorf("a replica where the admin token has a new secret: %d, want 401", w.Code)
			}

			// The store holds the sign-out under a hash, never the session.
			signOuts := signOutKeys(t, a.m)
			if len(signOuts) != 1 {
				t.Fatalf("sign-out list = %v, want one entry", signOuts)
			}
			id := sessionID(t, s.cookie.Value)
			for _, k := range signOuts {
				if strings.Contains(strings.ToUpper(k), strings.ToUpper(id)) || strings.Contains(k, s.cookie.Value) {
					t.Errorf("the sign-out key %q holds the session id", k)
				}
			}
			// Once the first session has expired, the next sign-out deletes
			// its entry.
			c.advance(DefaultSessionTTL)
			w = b.serve(request("POST", "/api/session", `{"token":"`+testToken+`"}`))
			s3 := pageSession{cookie: w.Result().Cookies()[0], csrf: decode(t, w.Body.Bytes()).(map[string]any)["csrf_token"].(string)}
			if w := b.serve(s3.req("DELETE", "/api/session", "")); w.Code != http.StatusNoContent {
				t.Fatalf("sign out on B: %d %s", w.Code, w.Body)
			}
			if got := signOutKeys(t, a.m); len(got) != 1 || got[0] == signOuts[0] {
				t.Errorf("sign-out list after expiry = %v; want only the new entry", got)
			}
			if !strings.Contains(audit.String(), `"msg":"cofferhttp.sign_out","actor":"admin"`) {
				t.Errorf("no sign_out audit event:\n%s", audit)
			}
		})
	}
}

// signOutKeys lists the sign-out list's keys in the store.
func signOutKeys(t *testing.T, m *coffer.Manager) []string {
	t.Helper()
	so, err := m.Project(DefaultSignOutProject)
	if err == nil {
		so, err = so.Environment("sessions")
	}
	if err != nil {
		t.Fatal(err)
	}
	list, err := so.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range list {
		keys = append(keys, s.Key)
	}
	return keys
}

// sessionID reads the session id out of a cookie value (the test knows the
// format; the store must not learn the id).
func sessionID(t *testing.T, cookie string) string {
	t.Helper()
	payload, _, _ := strings.Cut(cookie, ".")
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.ID == "" {
		t.Fatalf("no session id in the cookie: %v", err)
	}
	return c.ID
}

// TestSessionForgery checks that a session cookie whose payload was changed
// (another token's name, a later expiry) or re-signed with another key is
// refused and audited.
func TestSessionForgery(t *testing.T) {
	f := newFixture(t)
	s := f.signInWith(viewerToken)
	payload, sig, _ := strings.Cut(s.cookie.Value, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	forged := strings.Replace(string(raw), `"sub":"vera"`, `"sub":"admin"`, 1)
	if forged == string(raw) {
		t.Fatalf("the payload %s does not name vera", raw)
	}
	for name, value := range map[string]string{
		"another name":  base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + sig,
		"no signature":  payload,
		"bad signature": payload + ".AAAA",
		"empty payload": "." + sig,
		"garbage":       "%%%.%%%",
		"another key's": forgeWithKey(t, f, make([]byte, SessionKeyLen)),
	} {
		t.Run(name, func(t *testing.T) {
			r := request("POST", "/api/secrets", `{"key":"FORGED","value":"v"}`)
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: value})
			r.Header.Set(csrfHeader, s.csrf)
			if w := f.serve(r); w.Code != http.StatusUnauthorized {
				t.Errorf("status %d, want 401", w.Code)
			}
		})
	}
	if n := countEvents(t, f.audit.String(), "cofferhttp.auth_failed"); n < 5 {
		t.Errorf("%d auth_failed events for forged sessions, want at least 5", n)
	}
	if _, err := f.env("development").Get(context.Background(), "FORGED"); err == nil {
		t.Error("a forged session created a secret")
	}
}

// forgeWithKey signs in on a handler with another session key over the
// fixture's Manager and returns that session's cookie.
func forgeWithKey(t *testing.T, f *fixture, key []byte) string {
	h, err := NewHandler(coffertest.NewManager(t, nil), &Options{Environments: testEnvironments, Tokens: testTokens, SessionKey: key})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, request("POST", "/api/session", `{"token":"`+testToken+`"}`))
	return w.Result().Cookies()[0].Value
}
