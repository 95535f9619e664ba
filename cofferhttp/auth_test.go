package cofferhttp

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
)

// pageSession is a signed-in page: its session cookie and CSRF token.
type pageSession struct {
	cookie *http.Cookie
	csrf   string
}

// req builds a request as the page makes it: the cookie, the CSRF token
// and a same-origin Origin on state-changing requests.
func (s pageSession) req(method, target, body string, headers ...string) *http.Request {
	r := request(method, target, body)
	r.AddCookie(s.cookie)
	if method != "GET" {
		r.Header.Set(csrfHeader, s.csrf)
		r.Header.Set("Origin", "http://example.com")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
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

// signIn signs in as the page does with the admin's token and returns the session.
func (f *fixture) signIn() pageSession {
	f.t.Helper()
	return f.signInWith(testToken)
}

// signInWith signs in as the page does with token and returns the session.
func (f *fixture) signInWith(token string) pageSession {
	f.t.Helper()
	w := f.serve(request("POST", "/api/session", `{"token":"`+token+`"}`, "Origin: http://example.com", "Sec-Fetch-Site: same-origin"))
	if w.Code != http.StatusCreated {
		f.t.Fatalf("sign in: %d %s", w.Code, w.Body)
	}
	var s pageSession
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			s.cookie = c
		}
	}
	var body struct {
		CSRF string `json:"csrf_token"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || s.cookie == nil || body.CSRF == "" {
		f.t.Fatalf("sign in: no session cookie or CSRF token: %v; %s", err, w.Body)
	}
	s.csrf = body.CSRF
	return s
}

// TestUnauthenticated sends every endpoint without valid credentials: each
// answers 401 and nothing stored changes.
func TestUnauthenticated(t *testing.T) {
	requests := []struct{ method, target, body string }{
		{"GET", "/api/secrets", ""},
		{"GET", "/api/secrets?env=production", ""},
		{"POST", "/api/secrets", `{"key":"NEW_KEY","value":"v"}`},
		{"GET", "/api/secrets/DATABASE_URL", ""},
		{"PATCH", "/api/secrets/DATABASE_URL", `{"value":"changed","description":"changed"}`},
		{"DELETE", "/api/secrets/DATABASE_URL", ""},
		{"DELETE", "/api/secrets/STRIPE_API_KEY?env=production", ""},
		{"GET", "/api/session", ""},
		{"DELETE", "/api/session", ""},
	}
	credentials := []struct {
		name    string
		headers []string
		cookie  string
	}{
		{name: "no credentials"},
		{name: "wrong bearer token", headers: []string{"Authorization: Bearer wrong-token-0123456789abcdef"}},
		{name: "token prefix", headers: []string{"Authorization: Bearer " + testToken[:len(testToken)-1]}},
		{name: "token with a suffix", headers: []string{"Authorization: Bearer " + testToken + "x"}},
		{name: "basic scheme", headers: []string{"Authorization: Basic " + testToken}},
		{name: "bare token", headers: []string{"Authorization: " + testToken}},
		{name: "token as the session cookie", cookie: testToken},
		{name: "made-up session cookie", cookie: "0123456789abcdef0123456789abcdef0123456789a"},
	}
	want := errorBody(problem("", "unauthorized", "Sign in first: send an access token as a bearer token or sign in on the page"))
	for _, c := range credentials {
		for _, rq := range requests {
			t.Run(c.name+"/"+rq.method+" "+rq.target, func(t *testing.T) {
				f := newFixture(t)
				seedAll(f)
				before := f.state()
				r := request(rq.method, rq.target, rq.body, c.headers...)
				if c.cookie != "" {
					r.AddCookie(&http.Cookie{Name: sessionCookie, Value: c.cookie})
				}
				w := f.serve(r)
				if w.Code != http.StatusUnauthorized {
					t.Errorf("status = %d, want 401; body %s", w.Code, w.Body)
				}
				if diff := cmp.Diff(want, decode(t, w.Body.Bytes())); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="coffer"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if diff := cmp.Diff(before, f.state()); diff != "" {
					t.Errorf("an unauthenticated request changed the store (-before +after):\n%s", diff)
				}
			})
		}
	}
}

// TestSignIn walks the page's session: a wrong token is refused, the right
// one sets an HttpOnly, SameSite=Strict cookie, the session works until
// sign-out or expiry.
func TestSignIn(t *testing.T) {
	f := newFixture(t)

	w := f.serve(request("POST", "/api/session", `{"token":"not-the-token-0123456789"}`))
	if w.Code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", w.Code)
	}
	if diff := cmp.Diff(errorBody(problem("token", "invalid_token", "That access token is not valid")), decode(t, w.Body.Bytes())); diff != "" {
		t.Errorf("wrong token body (-want +got):\n%s", diff)
	}
	if len(w.Result().Cookies()) != 0 {
		t.Errorf("a refused sign-in set cookies: %v", w.Result().Cookies())
	}

	w = f.serve(request("POST", "/api/session", `{"token":"`+testToken+`"}`))
	if w.Code != http.StatusCreated {
		t.Fatalf("sign in: status %d, body %s", w.Code, w.Body)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("sign in set %d cookies, want 1", len(cookies))
	}
	c := cookies[0]
	gotCookie := http.Cookie{Name: c.Name, Path: c.Path, MaxAge: c.MaxAge, HttpOnly: c.HttpOnly, SameSite: c.SameSite, Secure: c.Secure}
	wantCookie := http.Cookie{Name: sessionCookie, Path: "/", MaxAge: 12 * 60 * 60, HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if diff := cmp.Diff(wantCookie, gotCookie, cmpopts.IgnoreUnexported(http.Cookie{})); diff != "" {
		t.Errorf("session cookie (-want +got):\n%s", diff)
	}
	if len(c.Value) < 40 || strings.Contains(c.Value, testToken) {
		t.Errorf("session cookie value is not a fresh random id: %d bytes", len(c.Value))
	}
	var session map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &session); err != nil {
		t.Fatal(err)
	}
	csrf, _ := session["csrf_token"].(string)
	if len(csrf) < 40 || csrf == c.Value {
		t.Errorf("csrf_token %q is not a fresh random token", csrf)
	}
	wantSession := map[string]any{
		"actor": "admin", "role": "admin", "via": "session", "csrf_token": csrf, "default_environment": "development",
		"environments": []any{"development", "staging", "production"},
		"can":          map[string]any{"read": true, "write": true, "reveal": true, "admin": true},
		"features":     wantFeatures(),
	}
	if diff := cmp.Diff(wantSession, session); diff != "" {
		t.Errorf("sign-in body (-want +got):\n%s", diff)
	}
	s := pageSession{cookie: c, csrf: csrf}

	// The session describes itself (the page reloads this way) and works.
	w = f.serve(s.req("GET", "/api/session", ""))
	if diff := cmp.Diff(any(wantSession), decode(t, w.Body.Bytes())); w.Code != 200 || diff != "" {
		t.Errorf("GET /api/session: %d (-want +got):\n%s", w.Code, diff)
	}
	if w = f.serve(s.req("POST", "/api/secrets", `{"key":"PAGE_KEY","value":"v"}`)); w.Code != http.StatusCreated {
		t.Errorf("create with the session: %d %s", w.Code, w.Body)
	}
	// A bearer client has no session, so no CSRF token.
	w = f.serve(request("GET", "/api/session", "", bearer))
	wantBearer := map[string]any{
		"actor": "admin", "role": "admin", "via": "token", "default_environment": "development",
		"environments": []any{"development", "staging", "production"},
		"can":          map[string]any{"read": true, "write": true, "reveal": true, "admin": true},
		"features":     wantFeatures(),
	}
	if diff := cmp.Diff(any(wantBearer), decode(t, w.Body.Bytes())); w.Code != 200 || diff != "" {
		t.Errorf("GET /api/session with a bearer token: %d (-want +got):\n%s", w.Code, diff)
	}

	// Sign-out ends the session and clears the cookie.
	w = f.serve(s.req("DELETE", "/api/session", ""))
	if w.Code != http.StatusNoContent {
		t.Errorf("sign out: %d %s", w.Code, w.Body)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].Name != sessionCookie || cs[0].MaxAge >= 0 {
		t.Errorf("sign out did not clear the cookie: %v", cs)
	}
	if w = f.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d, want 401", w.Code)
	}

	// A session expires.
	s = f.signIn()
	f.advance(12*time.Hour - time.Second)
	if w = f.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusOK {
		t.Errorf("before expiry: %d, want 200", w.Code)
	}
	f.advance(time.Second)
	if w = f.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusUnauthorized {
		t.Errorf("after expiry: %d, want 401", w.Code)
	}
}

// TestCSRF sends the page's state-changing requests with a valid session
// but a missing or wrong CSRF token, or from another origin: each answers
// 403 and nothing stored changes.
func TestCSRF(t *testing.T) {
	csrfFailed := errorBody(problem("", "csrf_failed", "Missing or wrong CSRF token; reload the page"))
	crossOrigin := errorBody(problem("", "cross_origin", "Cross-origin requests are not allowed"))
	requests := []struct{ method, target, body string }{
		{"POST", "/api/secrets", `{"key":"NEW_KEY","value":"v"}`},
		{"PATCH", "/api/secrets/DATABASE_URL", `{"value":"changed"}`},
		{"DELETE", "/api/secrets/DATABASE_URL", ""},
		{"DELETE", "/api/session", ""},
	}
	variants := []struct {
		name    string
		headers func(s, other pageSession) []string
		want    obj
	}{
		{"missing token", func(s, _ pageSession) []string { return []string{csrfHeader + ":"} }, csrfFailed},
		{"wrong token", func(s, _ pageSession) []string { return []string{csrfHeader + ": " + s.csrf[:len(s.csrf)-2] + "xx"} }, csrfFailed},
		{"another session's token", func(_, other pageSession) []string { return []string{csrfHeader + ": " + other.csrf} }, csrfFailed},
		{"the session id as token", func(s, _ pageSession) []string { return []string{csrfHeader + ": " + s.cookie.Value} }, csrfFailed},
		{"cross-site fetch", func(s, _ pageSession) []string {
			return []string{"Sec-Fetch-Site: cross-site", "Origin: https://evil.example"}
		}, crossOrigin},
		{"foreign origin without fetch metadata", func(s, _ pageSession) []string { return []string{"Sec-Fetch-Site:", "Origin: https://evil.example"} }, crossOrigin},
	}
	for _, v := range variants {
		for _, rq := range requests {
			t.Run(v.name+"/"+rq.method+" "+rq.target, func(t *testing.T) {
				f := newFixture(t)
				seedAll(f)
				s, other := f.signIn(), f.signIn()
				before := f.state()
				w := f.serve(s.req(rq.method, rq.target, rq.body, v.headers(s, other)...))
				if w.Code != http.StatusForbidden {
					t.Errorf("status = %d, want 403; body %s", w.Code, w.Body)
				}
				if diff := cmp.Diff(v.want, decode(t, w.Body.Bytes())); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(before, f.state()); diff != "" {
					t.Errorf("a forged request changed the store (-before +after):\n%s", diff)
				}
				// The session still works: a refused request is not a sign-out.
				if w := f.serve(s.req("GET", "/api/secrets", "")); w.Code != http.StatusOK {
					t.Errorf("session after the refused request: %d", w.Code)
				}
			})
		}
	}

	t.Run("cross-site sign-in", func(t *testing.T) {
		f := newFixture(t)
		w := f.serve(request("POST", "/api/session", `{"token":"`+testToken+`"}`, "Origin: https://evil.example", "Sec-Fetch-Site: cross-site"))
		if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Errorf("cross-site sign-in: %d, cookies %v; want 403 and none", w.Code, w.Result().Cookies())
		}
	})
}

// TestSecurityHeaders checks the headers of the page, its assets and the
// API, signed in or not.
func TestSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Cache-Control":           "no-store",
	}
	tests := []struct {
		req         *http.Request
		status      int
		contentType string
	}{
		{request("GET", "/", ""), 200, "text/html; charset=utf-8"},
		{request("GET", "/app.js", ""), 200, "text/javascript; charset=utf-8"},
		{request("GET", "/app.css", ""), 200, "text/css; charset=utf-8"},
		{request("GET", "/api/secrets", "", bearer), 200, "application/json; charset=utf-8"},
		{request("GET", "/api/secrets", ""), 401, "application/json; charset=utf-8"},
		{request("POST", "/api/secrets", `{"key":""}`, bearer), 422, "application/json; charset=utf-8"},
		{request("GET", "/api/nope", ""), 404, "application/json; charset=utf-8"},
		{request("GET", "/nope", ""), 404, "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.req.Method+" "+tt.req.URL.Path, func(t *testing.T) {
			w := f.serve(tt.req)
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			got := map[string]string{}
			for name := range want {
				got[name] = w.Header().Get(name)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("security headers (-want +got):\n%s", diff)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.contentType {
				t.Errorf("Content-Type = %q, want %q", ct, tt.contentType)
			}
		})
	}
}

// TestPageIsSelfContained checks what the CSP relies on: the page has no
// inline script, style or event handler, and loads nothing from elsewhere.
func TestPageIsSelfContained(t *testing.T) {
	f := newFixture(t)
	html := f.serve(request("GET", "/", "")).Body.String()
	for _, bad := range []string{"<style", " style=", " onclick=", " onload=", " onsubmit=", "javascript:", "http://", "https://", "//cdn"} {
		if strings.Contains(strings.ToLower(html), bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if n, m := strings.Count(html, "<script"), strings.Count(html, `<script src="/app.js" defer></script>`); n != 1 || m != 1 {
		t.Errorf("the page has %d script tags, want only the app.js one", n)
	}
	for _, must := range []string{
		"<title>Secrets</title>",
		"Secret values are never displayed in the table for security reasons. They remain encrypted in storage.",
		">Key<", ">Description<", ">Type<", ">Created<", ">Actions<",
		"Add Secret", "Create Secret", "Update Secret", `type="password"`, "readonly", "<dialog",
	} {
		if !strings.Contains(html, must) {
			t.Errorf("the page lacks %q", must)
		}
	}
	for _, asset := range []string{"/app.js", "/app.css"} {
		body := f.serve(request("GET", asset, "")).Body.String()
		for _, bad := range []string{"http://", "https://", "eval(", "innerHTML", "@import"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains %q", asset, bad)
			}
		}
	}
}

// auditEvents parses the JSON lines of an audit log.
func auditEvents(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// TestNewHandlerRefusesBadOptions checks the options NewHandler rejects,
// and that its errors never quote a token's secret.
func TestNewHandlerRefusesBadOptions(t *testing.T) {
	m := coffertest.NewManager(t, nil)
	admin := func(secret string) []Token { return []Token{{Name: "admin", Secret: secret, Role: RoleAdmin}} }
	tests := []struct {
		name string
		m    *coffer.Manager
		opts *Options
		want string
	}{
		{"no manager", nil, &Options{Tokens: testTokens}, "needs a Manager"},
		{"nil options", m, nil, "no way to sign in"},
		{"no token", m, &Options{}, "no way to sign in"},
		{"short token", m, &Options{Tokens: admin("0123456789abcde")}, `token "admin": the secret is 15 bytes; it must be at least 16`},
		{"unnamed token", m, &Options{Tokens: []Token{{Secret: testToken, Role: RoleAdmin}}}, `Tokens[0]: name "" must be`},
		{"name with a space", m, &Options{Tokens: []Token{{Name: "a b", Secret: testToken, Role: RoleAdmin}}}, `name "a b" must be`},
		{"unknown role", m, &Options{Tokens: []Token{{Name: "x", Secret: testToken, Role: "owner"}}}, `unknown role "owner"`},
		{"no role", m, &Options{Tokens: []Token{{Name: "x", Secret: testToken}}}, `unknown role ""`},
		{"duplicate name", m, &Options{Tokens: []Token{{Name: "x", Secret: testToken, Role: RoleAdmin}, {Name: "x", Secret: viewerToken, Role: RoleViewer}}}, `the name "x" is used twice`},
		{"duplicate secret", m, &Options{Tokens: []Token{{Name: "x", Secret: testToken, Role: RoleAdmin}, {Name: "y", Secret: testToken, Role: RoleViewer}}}, `token "y": another token has the same secret`},
		{"unserved token environment", m, &Options{Environments: []string{"dev"}, Tokens: []Token{{Name: "x", Secret: testToken, Role: RoleAdmin, Environments: []string{"prod"}}}}, `environment "prod" is not served`},
		{"empty token environments", m, &Options{Tokens: []Token{{Name: "x", Secret: testToken, Role: RoleAdmin, Environments: []string{}}}}, "Environments is empty"},
		{"empty environments", m, &Options{Environments: []string{}, Tokens: testTokens}, "Environments is empty"},
		{"duplicate environment", m, &Options{Tokens: admin(testToken), Environments: []string{"dev", "dev"}}, `environment "dev" is listed twice`},
		{"invalid environment", m, &Options{Tokens: admin(testToken), Environments: []string{"dev/eu"}}, `environment "dev/eu"`},
		{"short session key", m, &Options{Tokens: admin(testToken), SessionKey: make([]byte, 16)}, "SessionKey is 16 bytes; it must be 32"},
		{"negative body limit", m, &Options{Tokens: admin(testToken), MaxBodyBytes: -1}, "MaxBodyBytes is -1"},
		{"sign-out list in the served project", m, &Options{Tokens: admin(testToken), SignOutProject: "default"}, "cannot live in the served project"},
		{"invalid sign-out project", m, &Options{Tokens: admin(testToken), SignOutProject: "a/b"}, "SignOutProject"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewHandler(tt.m, tt.opts)
			if err == nil || h != nil {
				t.Fatalf("NewHandler = %v, %v; want an error", h, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			for _, secret := range []string{testToken, viewerToken, "0123456789abcde"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error quotes a token's secret: %q", err)
				}
			}
		})
	}
	if _, err := NewHandler(m, &Options{Tokens: admin("0123456789abcdef")}); err != nil {
		t.Errorf("a %d-byte token: %v", MinTokenLen, err)
	}
	if _, err := NewHandler(m, &Options{Authenticate: func(*http.Request) (*Principal, error) { return nil, nil }}); err != nil {
		t.Errorf("an authenticator without tokens: %v", err)
	}
}
