package cofferhttp

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// from sets a request's client address.
func from(r *http.Request, addr string) *http.Request {
	r.RemoteAddr = addr
	return r
}

// countEvents counts the audit events named msg.
func countEvents(t *testing.T, log, msg string) int {
	t.Helper()
	n := 0
	for _, e := range auditEvents(t, log) {
		if e["msg"] == msg {
			n++
		}
	}
	return n
}

// TestThrottle checks that failed authentication is throttled per client
// address: FailedAuthBurst failures answer 401, then every attempt that
// presents a token answers 429 with Retry-After, even with the right token,
// until the address has earned another attempt. Other addresses, session
// cookies and successful requests are unaffected; failures are audited.
func TestThrottle(t *testing.T) {
	const attacker, other = "192.0.2.7:40000", "198.51.100.9:40000"
	wrong := "Authorization: Bearer wrong-token-0123456789abcdef"
	f := newFixture(t)
	seedAll(f)
	s := f.signIn() // a session from the attacker's address, made before the failures
	before := f.state()

	// Successful requests cost nothing: they do not use up attempts.
	for range 50 {
		if w := f.serve(from(request("GET", "/api/secrets", "", bearer), attacker)); w.Code != 200 {
			t.Fatalf("a successful request: %d", w.Code)
		}
	}
	for i := range FailedAuthBurst {
		w := f.serve(from(request("GET", "/api/secrets", "", wrong), attacker))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, w.Code)
		}
	}
	tooMany := errorBody(problem("", "too_many_attempts", "Too many failed sign-in attempts from your address; try again in 12 s"))
	for _, r := range []*http.Request{
		request("GET", "/api/secrets", "", wrong),
		request("GET", "/api/secrets", "", bearer), // the right token is not even looked at
		request("POST", "/api/session", `{"token":"`+testToken+`"}`),
		request("DELETE", "/api/secrets/DATABASE_URL", "", bearer),
	} {
		w := f.serve(from(r, attacker))
		if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "12" {
			t.Errorf("%s %s while throttled: status %d, Retry-After %q; want 429, 12", r.Method, r.URL, w.Code, w.Header().Get("Retry-After"))
		}
		if diff := cmp.Diff(any(tooMany), decode(t, w.Body.Bytes())); diff != "" {
			t.Errorf("429 body (-want +got):\n%s", diff)
		}
	}
	if diff := cmp.Diff(before, f.state()); diff != "" {
		t.Errorf("a throttled request changed the store:\n%s", diff)
	}
	// The session was signed in before: it is not a guess, and works.
	if w := f.serve(from(s.req("GET", "/api/secrets", ""), attacker)); w.Code != 200 {
		t.Errorf("a session from the throttled address: %d, want 200", w.Code)
	}
	// Another address is not affected.
	if w := f.serve(from(request("GET", "/api/secrets", "", bearer), other)); w.Code != 200 {
		t.Errorf("another address: %d, want 200", w.Code)
	}
	if w := f.serve(from(request("GET", "/api/secrets", "", wrong), other)); w.Code != http.StatusUnauthorized {
		t.Errorf("another address's first failure: %d, want 401", w.Code)
	}
	// One attempt is earned every FailedAuthInterval.
	f.advance(FailedAuthInterval - time.Second)
	if w := f.serve(from(request("GET", "/api/secrets", "", bearer), attacker)); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
		t.Errorf("1 s before the next attempt: %d, Retry-After %q; want 429, 1", w.Code, w.Header().Get("Retry-After"))
	}
	f.advance(time.Second)
	if w := f.serve(from(request("GET", "/api/secrets", "", bearer), attacker)); w.Code != 200 {
		t.Errorf("the earned attempt with the right token: %d, want 200", w.Code)
	}
	if w := f.serve(from(request("POST", "/api/session", `{"token":"not-the-token-0123456789"}`), attacker)); w.Code != http.StatusUnauthorized {
		t.Errorf("the earned attempt with a wrong token: %d, want 401", w.Code)
	}
	if w := f.serve(from(request("GET", "/api/secrets", "", bearer), attacker)); w.Code != http.StatusTooManyRequests {
		t.Errorf("after using the earned attempt: %d, want 429", w.Code)
	}
	// A minute without failures forgives everything.
	f.advance(time.Minute)
	for i := range FailedAuthBurst {
		if w := f.serve(from(request("GET", "/api/secrets", "", wrong), attacker)); w.Code != http.StatusUnauthorized {
			t.Fatalf("after a quiet minute, failure %d: %d, want 401", i+1, w.Code)
		}
	}

	log := f.audit.String()
	if got, want := countEvents(t, log, "cofferhttp.auth_failed"), 2*FailedAuthBurst+1; got != want {
		t.Errorf("%d auth_failed events, want %d", got, want)
	}
	if got := countEvents(t, log, "cofferhttp.sign_in"); got != 2 { // the session's and the wrong one
		t.Errorf("%d sign_in events, want 2", got)
	}
	if got := countEvents(t, log, "cofferhttp.throttled"); got != 3 {
		t.Errorf("%d throttled events, want 3 (one per lockout)", got)
	}
	if !strings.Contains(log, `"client":"192.0.2.7"`) {
		t.Errorf("the audit events do not name the client:\n%s", log)
	}
	if strings.Contains(log, "wrong-token") || strings.Contains(log, "not-the-token") {
		t.Error("the audit log holds a presented token")
	}
}

// TestThrottleAddresses checks how clients are told apart: an IPv6 client
// by its /64, an IPv4-mapped address as IPv4, and Options.ClientAddress
// when set (behind a proxy).
func TestThrottleAddresses(t *testing.T) {
	wrong := "Authorization: Bearer wrong-token-0123456789abcdef"
	fail := func(f *fixture, r *http.Request) int { return f.serve(r).Code }
	t.Run("IPv6 /64", func(t *testing.T) {
		f := newFixture(t)
		for i := range FailedAuthBurst {
			addr := "[2001:db8:1:2::" + itoa(i+1) + "]:5000"
			if c := fail(f, from(request("GET", "/api/secrets", "", wrong), addr)); c != 401 {
				t.Fatalf("failure %d: %d", i, c)
			}
		}
		if c := fail(f, from(request("GET", "/api/secrets", "", bearer), "[2001:db8:1:2:ffff::1]:5000")); c != 429 {
			t.Errorf("another address of the same /64: %d, want 429", c)
		}
		if c := fail(f, from(request("GET", "/api/secrets", "", bearer), "[2001:db8:1:3::1]:5000")); c != 200 {
			t.Errorf("another /64: %d, want 200", c)
		}
	})
	t.Run("IPv4-mapped", func(t *testing.T) {
		f := newFixture(t)
		for range FailedAuthBurst {
			fail(f, from(request("GET", "/api/secrets", "", wrong), "[::ffff:192.0.2.1]:5000"))
		}
		if c := fail(f, from(request("GET", "/api/secrets", "", bearer), "192.0.2.1:6000")); c != 429 {
			t.Errorf("the same IPv4 address unmapped: %d, want 429", c)
		}
	})
	t.Run("ClientAddress", func(t *testing.T) {
		f := newFixture(t, func(o *Options) {
			o.ClientAddress = func(r *http.Request) string { return r.Header.Get("X-Client") }
		})
		for range FailedAuthBurst {
			fail(f, request("GET", "/api/secrets", "", wrong, "X-Client: a"))
		}
		if c := fail(f, request("GET", "/api/secrets", "", bearer, "X-Client: a")); c != 429 {
			t.Errorf("client a: %d, want 429", c)
		}
		if c := fail(f, request("GET", "/api/secrets", "", bearer, "X-Client: b")); c != 200 {
			t.Errorf("client b through the same connection address: %d, want 200", c)
		}
	})
	t.Run("empty token is not a failure", func(t *testing.T) {
		f := newFixture(t)
		want := errorBody(problem("token", "token_required", "Access token is required"))
		for range 2 * FailedAuthBurst {
			w := f.serve(request("POST", "/api/session", `{"token":""}`))
			if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != 422 || diff != "" {
				t.Fatalf("empty token: %d (-want +got):\n%s", w.Code, diff)
			}
		}
		if c := fail(f, request("POST", "/api/session", `{"token":"`+testToken+`"}`)); c != 201 {
			t.Errorf("sign-in after empty tokens: %d, want 201", c)
		}
	})
}

// TestThrottleTableBounded fills the throttle's table past its bound: the
// addresses beyond it share one bucket, so they are still limited and the
// table does not grow.
func TestThrottleTableBounded(t *testing.T) {
	now := fixedNow
	th := newThrottle(func() time.Time { return now })
	for i := range maxThrottled {
		th.fail("a" + itoa(i))
	}
	for i := range FailedAuthBurst {
		if wait, _ := th.fail("overflow-" + itoa(i)); i < FailedAuthBurst-1 && wait != 0 {
			t.Fatalf("overflow failure %d already waits %s", i, wait)
		}
	}
	if wait := th.wait("yet-another"); wait <= 0 {
		t.Errorf("an address beyond the table after the shared bucket ran out: wait %s, want > 0", wait)
	}
	if n := len(th.buckets); n > maxThrottled+1 {
		t.Errorf("the table holds %d buckets, want at most %d", n, maxThrottled+1)
	}
	now = now.Add(time.Hour)
	th.fail("late")
	if n := len(th.buckets); n != 1 {
		t.Errorf("after an hour the full buckets were not forgotten: %d left", n)
	}
}

// TestAuthenticator checks Options.Authenticate: consulted before tokens;
// its principal's role and environments apply and name the actor; nil, nil
// leaves the request to tokens and sessions; an error is a failed
// authentication (401, audited, throttled); an invalid principal is the
// server's fault (500).
func TestAuthenticator(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Authenticate = func(r *http.Request) (*Principal, error) {
			switch user := r.Header.Get("X-Test-User"); user {
			case "":
				return nil, nil
			case "alice":
				return &Principal{Name: "alice", Role: RoleEditor, Environments: []string{"staging"}}, nil
			case "broken":
				return &Principal{Name: "broken", Role: "superuser"}, nil
			default:
				return nil, errors.New("unknown user " + user)
			}
		}
	})
	seedAll(f)
	alice := "X-Test-User: alice"

	w := f.serve(request("POST", "/api/secrets?env=staging", `{"key":"ALICE_KEY","value":"v"}`, alice, bearer))
	if w.Code != 201 || !strings.Contains(w.Body.String(), `"created_by":"alice"`) {
		t.Errorf("create as alice (with an admin token too): %d %s; want 201 by alice", w.Code, w.Body)
	}
	if w := f.serve(request("GET", "/api/secrets?env=production", "", alice, bearer)); w.Code != http.StatusForbidden {
		t.Errorf("alice in production: %d, want 403 (the authenticator wins over the token)", w.Code)
	}
	if w := f.serve(request("GET", "/api/secrets/STRIPE_API_KEY/value?env=staging", "", alice)); w.Code != http.StatusForbidden {
		t.Errorf("alice reading a value: %d, want 403", w.Code)
	}
	w = f.serve(request("GET", "/api/session", "", alice))
	want := obj{
		"actor": "alice", "role": "editor", "via": "authenticator",
		"environments": arr{"staging"}, "default_environment": "staging",
		"can":      obj{"read": true, "write": true, "reveal": false, "admin": false},
		"features": wantFeatures(),
	}
	if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); diff != "" {
		t.Errorf("alice's session (-want +got):\n%s", diff)
	}
	if w := f.serve(request("GET", "/api/secrets?env=production", "", bearer)); w.Code != 200 {
		t.Errorf("a token when the authenticator declines: %d, want 200", w.Code)
	}
	if w := f.serve(request("GET", "/api/secrets", "", "X-Test-User: broken")); w.Code != 500 {
		t.Errorf("an invalid principal: %d, want 500", w.Code)
	}
	for range FailedAuthBurst {
		if w := f.serve(request("GET", "/api/secrets", "", "X-Test-User: mallory")); w.Code != 401 {
			t.Fatalf("refused by the authenticator: %d, want 401", w.Code)
		}
	}
	if w := f.serve(request("GET", "/api/secrets", "", bearer)); w.Code != 429 {
		t.Errorf("after the authenticator's refusals, a token from that address: %d, want 429", w.Code)
	}
	if !strings.Contains(f.audit.String(), `"reason":"unknown user mallory"`) {
		t.Errorf("the refusal is not audited with the authenticator's reason:\n%s", f.audit)
	}
}
