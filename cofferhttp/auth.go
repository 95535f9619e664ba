package cofferhttp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coffer-go/coffer"
)

// How a request was authenticated, as the request log and GET /api/session
// say it.
const (
	viaToken         = "token"         // Authorization: Bearer
	viaSession       = "session"       // the page's session cookie
	viaAuthenticator = "authenticator" // Options.Authenticate
)

// principal is an authenticated request's Principal and how it got it.
type principal struct {
	Principal
	via     string
	session *sessionClaims // the page session, when via is viaSession
}

// allows reports whether the principal may use environment env at all.
func (p *principal) allows(env string) bool {
	return p.Environments == nil || slices.Contains(p.Environments, env)
}

// tokenEntry is a configured token as the handler keeps it: its hash, never
// its secret.
type tokenEntry struct {
	hash [sha256.Size]byte
	p    Principal
}

// tokenTable holds the configured tokens' hashes.
type tokenTable []tokenEntry

// lookup finds the token whose secret is presented. Every configured token
// is compared, each in constant time, so the time taken says nothing about
// how close a guess came or which token it resembled.
func (ts tokenTable) lookup(presented string) (*tokenEntry, bool) {
	h := sha256.Sum256([]byte(presented))
	found := -1
	for i := range ts {
		if subtle.ConstantTimeCompare(h[:], ts[i].hash[:]) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, false
	}
	return &ts[found], true
}

// byName returns the token named name.
func (ts tokenTable) byName(name string) (*tokenEntry, bool) {
	for i := range ts {
		if ts[i].p.Name == name {
			return &ts[i], true
		}
	}
	return nil, false
}

// errBadCredentials is a presented credential that matched nothing.
var errBadCredentials = errors.New("bad credentials")

// authenticate returns who sent r. It returns nil and false after writing
// the answer: 401 without credentials or with wrong ones, 429 while the
// client is throttled for failing too often, 500 when the sign-out list
// cannot be read.
//
// Options.Authenticate is consulted first. Then a request carrying an
// Authorization header is judged by it alone (a wrong token is not rescued
// by a cookie), else by its session cookie.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (*principal, bool) {
	client := h.clientAddr(r)
	if h.authFn != nil {
		p, err := h.authFn(r)
		switch {
		case err != nil:
			return nil, h.refuse(w, r, client, viaAuthenticator, err)
		case p != nil:
			if err := checkPrincipal(*p); err != nil {
				// A bug of the team's authenticator, not of the client.
				h.log.Error("Options.Authenticate returned an invalid principal", "error", err.Error())
				writeError(w, internalError)
				return nil, false
			}
			return &principal{Principal: *p, via: viaAuthenticator}, true
		}
	}
	if authz := r.Header.Get("Authorization"); authz != "" {
		if wait := h.throttle.wait(client); wait > 0 {
			h.tooMany(w, wait)
			return nil, false
		}
		scheme, token, ok := strings.Cut(authz, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			if t, ok := h.tokens.lookup(strings.TrimSpace(token)); ok {
				return &principal{Principal: t.p, via: viaToken}, true
			}
		}
		return nil, h.refuse(w, r, client, viaToken, errBadCredentials)
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		unauthorized(w)
		return nil, false
	}
	p, err := h.sessions.principal(r.Context(), c.Value)
	if err != nil {
		if errors.Is(err, errSessionInvalid) {
			// Session cookies cannot be guessed (they are signed), so a bad
			// one is not throttled; a forged one is worth an audit event.
			if errors.Is(err, errSessionForged) {
				h.audit(r.Context(), slog.LevelWarn, "auth_failed", slog.String("via", viaSession), slog.String("client", client), slog.String("reason", "bad_signature"))
			}
			unauthorized(w)
			return nil, false
		}
		h.log.Error("reading the sign-out list failed", "error", err.Error())
		writeError(w, internalError)
		return nil, false
	}
	return p, true
}

// refuse answers a failed authentication: it is audited and counted against
// the client's address, and answered 401.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, client, via string, err error) bool {
	retry, throttled := h.throttle.fail(client)
	attrs := []slog.Attr{slog.String("via", via), slog.String("client", client)}
	if via == viaAuthenticator {
		// The team's authenticator wrote this error: it may say why.
		attrs = append(attrs, slog.String("reason", err.Error()))
	}
	h.audit(r.Context(), slog.LevelWarn, "auth_failed", attrs...)
	if throttled {
		h.audit(r.Context(), slog.LevelWarn, "throttled", slog.String("client", client), slog.Int("retry_after_s", seconds(retry)))
	}
	unauthorized(w)
	return false
}

func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="coffer"`)
	writeError(w, apiError{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "Sign in first: send an access token as a bearer token or sign in on the page"})
}

// tooMany answers a request of a throttled client without looking at its
// credentials, so a guess made while throttled learns nothing.
func (h *handler) tooMany(w http.ResponseWriter, wait time.Duration) {
	n := seconds(wait)
	writeError(w, apiError{
		Status: http.StatusTooManyRequests, Code: "too_many_attempts", RetryAfter: n,
		Message: "Too many failed sign-in attempts from your address; try again in " + itoa(n) + " s",
	})
}

// csrfOK checks the CSRF header of a state-changing request made with a
// session cookie. Bearer requests need no CSRF token: browsers never attach
// an Authorization header on their own. Requests of Options.Authenticate's
// principals rely on cross-origin protection (see the package doc).
func (h *handler) csrfOK(p *principal, r *http.Request) bool {
	if p.session == nil || isSafeMethod(r.Method) {
		return true
	}
	got := r.Header.Get(csrfHeader)
	want := h.sessions.csrf(p.session)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func isSafeMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// authed wraps an API route: the request is authenticated (401, 429), a
// page session's state-changing request must carry its CSRF token (403),
// and the route runs with the principal, the actor in its context for
// coffer's audit events.
func (h *handler) authed(next func(http.ResponseWriter, *http.Request, *principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, ok := h.authenticate(w, r)
		if !ok {
			return
		}
		if !h.csrfOK(p, r) {
			writeError(w, apiError{Status: http.StatusForbidden, Code: "csrf_failed", Message: "Missing or wrong CSRF token; reload the page"})
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.actor, rec.via = p.Name, p.via
		}
		next(w, r.WithContext(coffer.WithActor(r.Context(), p.Name)), p)
	}
}

// allow checks that the principal may perform act in the request's
// environment and returns that environment's Manager. Otherwise it answers
// 400 for an environment the handler does not serve, or 403 forbidden
// (audited), and returns false. An unknown environment is reported as such
// whoever asks: the served environments are no secret (GET /api/session
// lists them).
func (h *handler) allow(w http.ResponseWriter, r *http.Request, p *principal, act action) (*coffer.Manager, string, bool) {
	env := h.envOf(r, p)
	m, ok := h.managers[env]
	if !ok {
		h.badEnvironment(w, env)
		return nil, "", false
	}
	if !p.Role.can(act) || !p.allows(env) {
		h.forbid(w, r, p, act, env)
		return nil, "", false
	}
	return m, env, true
}

// forbid answers 403 and audits the refusal.
func (h *handler) forbid(w http.ResponseWriter, r *http.Request, p *principal, act action, env string) {
	attrs := []slog.Attr{slog.String("actor", p.Name), slog.String("role", string(p.Role)), slog.String("action", act.String())}
	msg := "Your role (" + string(p.Role) + ") cannot " + act.phrase()
	if env != "" {
		attrs = append(attrs, slog.String("environment", env))
		if p.Role.can(act) {
			msg = "You have no access to the " + env + " environment"
		} else {
			msg += " in " + env
		}
	}
	if key := r.PathValue("key"); key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	h.audit(r.Context(), slog.LevelWarn, "forbidden", attrs...)
	writeError(w, apiError{Status: http.StatusForbidden, Code: "forbidden", Message: msg})
}

// audit records one of the handler's own events (sign-in, sign-out, refused
// authentication, throttling, forbidden requests) in Options.AuditLog.
// coffer's Manager records the operations on secrets in its own audit log.
func (h *handler) audit(ctx context.Context, level slog.Level, event string, attrs ...slog.Attr) {
	if h.auditLog == nil {
		return
	}
	h.auditLog.LogAttrs(context.WithoutCancel(ctx), level, "cofferhttp."+event, attrs...)
}
