package cofferhttp

import (
	"net/http"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend/backendtest"
)

// canaryRequests are requests that carry, or could answer with, the canary
// value: every endpoint with every role, refused, forged, throttled and
// malformed requests, and the machine reads.
func canaryRequests(f *fixture, canary string, s, vs pageSession) []*http.Request {
	big := strings.Repeat(canary, coffer.DefaultMaxValueBytes/len(canary)+1)
	huge := strings.Repeat(canary, DefaultMaxBodyBytes/len(canary)+1)
	wrong := "Authorization: Bearer " + canary
	reqs := []*http.Request{
		request("POST", "/api/secrets", `{"key":"CANARY_KEY","value":"`+canary+`","description":"d"}`, bearer),
		request("GET", "/api/secrets", "", bearer),
		request("GET", "/api/keys", "", viewer),
		request("GET", "/api/keys", "", reader), // forbidden
		request("GET", "/api/secrets/CANARY_KEY", "", viewer),
		request("POST", "/api/secrets", `{"key":"CANARY_KEY","value":"`+canary+`"}`, editor),         // duplicate
		request("POST", "/api/secrets", `{"key":"bad key","value":"`+canary+`"}`, bearer),            // invalid key
		request("POST", "/api/secrets", `{"key":"","value":"`+canary+`\u0000"}`, bearer),             // key required, NUL
		request("POST", "/api/secrets", `{"key":"BIG","value":"`+big+`"}`, bearer),                   // value too large
		request("POST", "/api/secrets", `{"key":"HUGE","value":"`+huge+`"}`, bearer),                 // body too large
		request("POST", "/api/secrets", `{"key":"X","value":"`+canary+`",`, bearer),                  // malformed
		request("POST", "/api/secrets", `{"key":"X","value":"v","`+canary+`":"`+canary+`"}`, bearer), // unknown field
		request("POST", "/api/secrets", `{"key":"X","value":["`+canary+`"]}`, bearer),                // wrong type
		request("POST", "/api/secrets", `{"key":"X","value":"`+canary+`"}`, bearer, "Content-Type: text/plain"),
		request("POST", "/api/secrets?env=qa", `{"key":"X","value":"`+canary+`"}`, bearer),              // unknown environment
		request("POST", "/api/secrets", `{"key":"X","value":"`+canary+`"}`),                             // unauthenticated
		request("POST", "/api/secrets", `{"key":"X","value":"`+canary+`"}`, viewer),                     // forbidden
		request("POST", "/api/secrets", `{"key":"X","value":"`+canary+`"}`, reader),                     // forbidden
		s.req("POST", "/api/secrets", `{"key":"X","value":"`+canary+`"}`, csrfHeader+":"),               // CSRF
		s.req("POST", "/api/secrets", `{"key":"X","value":"`+canary+`"}`, "Sec-Fetch-Site: cross-site"), // cross-site
		request("PATCH", "/api/secrets/CANARY_KEY", `{"value":"`+canary+`-2"}`, editor),
		s.req("PATCH", "/api/secrets/CANARY_KEY", `{"value":"`+canary+`-3","description":"page"}`),
		vs.req("PATCH", "/api/secrets/CANARY_KEY", `{"value":"`+canary+`-4"}`), // a viewer's session: forbidden
		request("PATCH", "/api/secrets/NOPE", `{"value":"`+canary+`"}`, bearer),
		request("PATCH", "/api/secrets/CANARY_KEY", `{"value":"`+big+`"}`, bearer),
		request("PUT", "/api/secrets/CANARY_KEY", `{"value":"`+canary+`"}`, bearer),
		request("GET", "/api/secrets/CANARY_KEY/value", "", viewer), // forbidden
		request("GET", "/api/secrets/CANARY_KEY/value", "", editor), // forbidden
		vs.req("GET", "/api/secrets/CANARY_KEY/value", ""),          // forbidden
		request("GET", "/api/environ?format=json", "", editor),      // forbidden
		request("GET", "/api/environ", "", viewer),                  // forbidden
		request("GET", "/api/environ?env=qa", "", reader),           // unknown environment
		request("GET", "/api/environ?format=xml", "", reader),       // bad format
		request("POST", "/api/secrets/CANARY_KEY/value", `{"value":"`+canary+`"}`, reader),
		request("GET", "/api/secrets/CANARY_KEY/value", "", reader),           // the value itself: exempt
		request("GET", "/api/environ", "", reader),                            // exempt
		request("GET", "/api/environ?format=json", "", bearer),                // exempt
		request("GET", "/api/secrets/CANARY_KEY/value", "", s.cookieHeader()), // an admin's session: exempt
		request("GET", "/api/access", "", bearer),
		request("GET", "/api/session", "", bearer),
		request("POST", "/api/session", `{"token":"`+canary+`"}`),
	}
	for range FailedAuthBurst + 1 { // wrong tokens until throttled
		reqs = append(reqs, request("GET", "/api/secrets", "", wrong))
	}
	reqs = append(reqs, request("POST", "/api/session", `{"token":"`+canary+`"}`)) // throttled
	reqs = append(reqs, extraCanaryRequests(canary, s)...)
	return append(reqs,
		request("GET", "/api/secrets/CANARY_KEY", "", bearer),
		request("DELETE", "/api/secrets/CANARY_KEY", "", bearer),
	)
}

// cookieHeader is the session's cookie as a header line, for request.
func (s pageSession) cookieHeader() string {
	return "Cookie: " + s.cookie.Name + "=" + s.cookie.Value
}

// valueAnswer reports whether a request is a successful value read: the
// only answers that may hold a value.
func valueAnswer(r *http.Request, status int) bool {
	return status == http.StatusOK && r.Method == http.MethodGet &&
		(strings.HasSuffix(r.URL.Path, "/value") || r.URL.Path == "/api/environ")
}

// TestCanary drives every path a value can take — creates, edits, reads
// by every role, every kind of rejection, unauthenticated, forged,
// forbidden and throttled requests — with a canary value, and checks that
// it appears in no response body or header except the successful value
// reads, in no request log line and in no audit event. Neither do the
// tokens, the CSRF tokens or the session cookies appear in the logs.
func TestCanary(t *testing.T) {
	const canary = "CANARY-3f9c2b71e0d84a56"
	f := newFixture(t)
	seedAll(f)
	s, vs := f.signIn(), f.signInWith(viewerToken)
	valueReads := 0
	for i, r := range canaryRequests(f, canary, s, vs) {
		w := f.serve(r)
		exempt := valueAnswer(r, w.Code)
		if exempt && strings.Contains(w.Body.String(), "CANARY-") {
			valueReads++
		}
		if !exempt && strings.Contains(w.Body.String(), "CANARY-") {
			t.Errorf("request %d (%s %s): status %d, the response body holds the canary: %.200s", i, r.Method, r.URL, w.Code, w.Body)
		}
		for name, values := range w.Header() {
			for _, v := range values {
				if strings.Contains(v, "CANARY-") {
					t.Errorf("request %d: header %s holds the canary", i, name)
				}
			}
		}
	}
	// The canary did reach the store and came back to the readers: the
	// checks above are not vacuous.
	if valueReads < 4 {
		t.Errorf("only %d value reads returned the canary, want at least 4", valueReads)
	}
	if got := f.audit.String(); !strings.Contains(got, `"op":"update"`) || !strings.Contains(got, `"key":"CANARY_KEY"`) ||
		!strings.Contains(got, "cofferhttp.forbidden") || !strings.Contains(got, "cofferhttp.throttled") {
		t.Errorf("the canary secret was not stored, updated, refused and throttled; audit log:\n%s", got)
	}
	// Nor in the store: every field of every document, as raw bytes.
	f.seed("development", "STORED_CANARY", canary, "")
	backendtest.NoPlaintext(t, f.coll, canary, "CANARY-")
	for name, log := range map[string]string{"audit": f.audit.String(), "request": f.log.String()} {
		if strings.Contains(log, "CANARY-") {
			t.Errorf("the %s log holds the canary", name)
		}
		for _, secret := range []string{testToken, viewerToken, editorToken, readerToken, s.csrf, s.cookie.Value, vs.csrf, vs.cookie.Value} {
			if strings.Contains(log, secret) {
				t.Errorf("the %s log holds a token, CSRF token or session cookie", name)
			}
		}
	}
}
