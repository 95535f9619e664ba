package cofferhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
)

// The tokens of the handler tests, one per role; testToken is the admin's.
const (
	testToken   = "test-token-0123456789abcdefghij"
	viewerToken = "viewer-token-0123456789abcdefgh"
	editorToken = "editor-token-0123456789abcdefgh"
	readerToken = "reader-token-0123456789abcdefgh"
)

// testTokens are the fixture's tokens: an admin, and a viewer, an editor and
// a reader of every environment.
var testTokens = []Token{
	{Name: "admin", Secret: testToken, Role: RoleAdmin},
	{Name: "vera", Secret: viewerToken, Role: RoleViewer},
	{Name: "ed", Secret: editorToken, Role: RoleEditor},
	{Name: "ci-deploy", Secret: readerToken, Role: RoleReader},
}

// testEnvironments are the environments the fixture serves.
var testEnvironments = []string{"development", "staging", "production"}

// fixedNow is the clock of the handler tests, so secrets' times are known.
var fixedNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a server.
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

// fixture is a handler over an in-memory Manager, with its audit log (the
// Manager's and the handler's events, as in examples/server) and request
// log captured.
type fixture struct {
	t        testing.TB
	m        *coffer.Manager
	coll     *docstore.Collection // the raw store under m
	h        http.Handler
	audit    *syncBuffer
	log      *syncBuffer
	clock    time.Time // the sessions' clock; advance it to expire sessions
	clockMu  sync.Mutex
	managers map[string]*coffer.Manager
}

// newFixture returns a handler over a fresh in-memory Manager with
// testTokens and testEnvironments; edit, when given, changes its Options.
func newFixture(t testing.TB, edit ...func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, audit: &syncBuffer{}, log: &syncBuffer{}, clock: fixedNow, managers: map[string]*coffer.Manager{}}
	auditLog := slog.New(slog.NewJSONHandler(f.audit, nil))
	ce := coffertest.New(t, nil, &coffer.Options{AuditLog: auditLog, Now: func() time.Time { return fixedNow }})
	f.m, f.coll = ce.Manager, ce.Collection
	opts := &Options{
		Environments: testEnvironments,
		Tokens:       testTokens,
		Log:          slog.New(slog.NewJSONHandler(f.log, nil)),
		AuditLog:     auditLog,
		Now:          f.now,
	}
	for _, e := range edit {
		e(opts)
	}
	h, err := NewHandler(f.m, opts)
	if err != nil {
		t.Fatal(err)
	}
	f.h = h
	return f
}

func (f *fixture) now() time.Time {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.clockMu.Lock()
	defer f.clockMu.Unlock()
	f.clock = f.clock.Add(d)
}

// env returns the Manager of an environment, to check through the library.
func (f *fixture) env(name string) *coffer.Manager {
	f.t.Helper()
	if m, ok := f.managers[name]; ok {
		return m
	}
	m, err := f.m.Environment(name)
	if err != nil {
		f.t.Fatal(err)
	}
	f.managers[name] = m
	return m
}

// seed stores a secret through the library.
func (f *fixture) seed(env, key, value, description string) {
	f.t.Helper()
	ctx := coffer.WithActor(context.Background(), "seed")
	if _, err := f.env(env).Create(ctx, coffer.NewSecret{Key: key, Value: coffer.Value(value), Description: description}); err != nil {
		f.t.Fatal(err)
	}
}

// storedSecret is a secret as the library holds it, value included.
type storedSecret struct {
	Secret coffer.Secret
	Value  string
}

// state is every stored secret of every environment the handler serves.
func (f *fixture) state() map[string][]storedSecret {
	f.t.Helper()
	ctx := context.Background()
	out := map[string][]storedSecret{}
	for _, env := range testEnvironments {
		m := f.env(env)
		list, err := m.List(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, s := range list {
			v, err := m.Reveal(ctx, s.Key)
			if err != nil {
				f.t.Fatal(err)
			}
			out[env] = append(out[env], storedSecret{Secret: s, Value: string(v)})
		}
	}
	return out
}

// request builds a request; headers are given as "Name: value" strings. A
// body makes the Content-Type application/json unless a header sets it.
func request(method, target, body string, headers ...string) *http.Request {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		if value = strings.TrimSpace(value); value == "" {
			r.Header.Del(name)
		} else {
			r.Header.Set(name, value)
		}
	}
	return r
}

// The headers of API clients with each role's token.
const (
	bearer = "Authorization: Bearer " + testToken
	viewer = "Authorization: Bearer " + viewerToken
	editor = "Authorization: Bearer " + editorToken
	reader = "Authorization: Bearer " + readerToken
)

func (f *fixture) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// decode parses a JSON response body into generic values, for cmp.Diff
// against a want built the same way. An empty body decodes to nil.
func decode(t *testing.T, body []byte) any {
	t.Helper()
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("response body is not JSON: %v\n%s", err, body)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		t.Fatalf("response body has data after the JSON value:\n%s", body)
	}
	return v
}

// obj is a JSON object in a want.
type obj = map[string]any

// arr is a JSON array in a want.
type arr = []any

// secretObj is the JSON of a secret created at fixedNow.
func secretObj(env, key, description, typ, createdBy, updatedBy string, version int) obj {
	ts := fixedNow.Format(time.RFC3339Nano)
	return obj{
		"key": key, "description": description, "type": typ,
		"project": "default", "environment": env,
		"created_at": ts, "updated_at": ts, "rotated_at": ts,
		"created_by": createdBy, "updated_by": updatedBy,
		"version": json.Number(itoa(version)),
	}
}

// problem is one entry of an error body's "errors".
func problem(field, code, message string) obj {
	p := obj{"code": code, "message": message}
	if field != "" {
		p["field"] = field
	}
	return p
}

// errorBody is the error body listing problems: the first one's code, every
// message joined.
func errorBody(problems ...obj) obj {
	msgs := make([]string, len(problems))
	list := make(arr, len(problems))
	for i, p := range problems {
		msgs[i] = p["message"].(string)
		list[i] = p
	}
	return obj{"code": problems[0]["code"], "message": strings.Join(msgs, "; "), "errors": list}
}

// wantFeatures is the "features" object of GET /api/session in this build.
func wantFeatures() map[string]any {
	return map[string]any{"versions": serverFeatures.Versions, "check": serverFeatures.Check, "generate": serverFeatures.Generate}
}
