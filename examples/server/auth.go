package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coffer-go/coffer"
)

// sessionCookie names the page's session cookie. It is HttpOnly (no script
// reads it) and SameSite=Strict (no other site's request carries it).
const sessionCookie = "coffer_session"

// csrfHeader carries the per-session CSRF token on the page's state-changing
// requests. A cross-site form cannot set a header, and a cross-site script
// cannot read the token.
const csrfHeader = "X-CSRF-Token"

// maxSessions bounds the session table, so repeated sign-ins cannot grow
// memory without limit; the oldest sessions go first.
const maxSessions = 1024

// authenticator checks the bearer token and keeps the page's sessions.
type authenticator struct {
	tokenHash [sha256.Size]byte
	ttl       time.Duration
	now       func() time.Time

	mu sync.Mutex
	// sessions is keyed by the SHA-256 of the session id, so even the map
	// lookup's timing says nothing about a valid id.
	sessions map[[sha256.Size]byte]*session
}

type session struct {
	csrf    string
	expires time.Time
}

// principal is who a request was authenticated as.
type principal struct {
	via     string   // "token" (Authorization header) or "session" (cookie)
	session *session // nil for "token"
}

func newAuthenticator(token string, ttl time.Duration, now func() time.Time) *authenticator {
	return &authenticator{
		tokenHash: sha256.Sum256([]byte(token)),
		ttl:       ttl,
		now:       now,
		sessions:  make(map[[sha256.Size]byte]*session),
	}
}

// tokenOK compares a presented token with the access token in constant
// time. Hashing first makes the comparison independent of the length too.
func (a *authenticator) tokenOK(presented string) bool {
	h := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(h[:], a.tokenHash[:]) == 1
}

// authenticate returns who sent r, or false. A request carrying an
// Authorization header is judged by it alone: a wrong token is not rescued
// by a cookie.
func (a *authenticator) authenticate(r *http.Request) (principal, bool) {
	if authz := r.Header.Get("Authorization"); authz != "" {
		scheme, token, ok := strings.Cut(authz, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || !a.tokenOK(strings.TrimSpace(token)) {
			return principal{}, false
		}
		return principal{via: "token"}, true
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return principal{}, false
	}
	s := a.lookup(c.Value)
	if s == nil {
		return principal{}, false
	}
	return principal{via: "session", session: s}, true
}

// csrfOK checks the CSRF header of a state-changing request made with a
// session cookie. Bearer requests need no CSRF token: browsers never attach
// an Authorization header on their own.
func (p principal) csrfOK(r *http.Request) bool {
	if p.session == nil || isSafeMethod(r.Method) {
		return true
	}
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.session.csrf)) == 1
}

func isSafeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// newSession starts a session and returns its id (for the cookie) and CSRF token.
func (a *authenticator) newSession() (id, csrf string) {
	id, csrf = randomToken(), randomToken()
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, s := range a.sessions {
		if !now.Before(s.expires) {
			delete(a.sessions, k)
		}
	}
	for len(a.sessions) >= maxSessions {
		var oldest [sha256.Size]byte
		var oldestExp time.Time
		for k, s := range a.sessions {
			if oldestExp.IsZero() || s.expires.Before(oldestExp) {
				oldest, oldestExp = k, s.expires
			}
		}
		delete(a.sessions, oldest)
	}
	a.sessions[sha256.Sum256([]byte(id))] = &session{csrf: csrf, expires: now.Add(a.ttl)}
	return id, csrf
}

func (a *authenticator) lookup(id string) *session {
	k := sha256.Sum256([]byte(id))
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[k]
	if s == nil {
		return nil
	}
	if !a.now().Before(s.expires) {
		delete(a.sessions, k)
		return nil
	}
	return s
}

func (a *authenticator) endSession(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.sessions, sha256.Sum256([]byte(id)))
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return b
}

func (a *authenticator) sessionCookie(r *http.Request, id string) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   int(a.ttl / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}

// authenticated wraps an API handler: 401 without valid credentials, 403
// for a session request without its CSRF token; otherwise the request's
// context carries the actor for coffer's audit events.
func (h *handler) authenticated(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.auth.authenticate(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="coffer"`)
			writeError(w, apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Sign in first: send the access token as a bearer token or sign in on the page"})
			return
		}
		if !p.csrfOK(r) {
			writeError(w, apiError{Status: http.StatusForbidden, Code: "csrf_failed", Message: "Missing or wrong CSRF token; reload the page"})
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.actor, rec.via = h.actor, p.via
		}
		ctx := context.WithValue(coffer.WithActor(r.Context(), h.actor), principalKey{}, p)
		next(w, r.WithContext(ctx))
	})
}

// principalKey carries the principal of an authenticated request.
type principalKey struct{}

// principalOf returns who an authenticated request is from.
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}
