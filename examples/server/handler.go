package main

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/coffer-go/coffer"
)

// MaxBodyBytes bounds every request body. The largest legitimate body is a
// create with a 64 KiB value (coffer's default limit) JSON-escaped; anything
// beyond twice that is refused with 413 before it is parsed.
const MaxBodyBytes = 128 << 10

// MinTokenLen is the shortest access token NewHandler accepts: the token is
// the only credential, so it must not be guessable.
const MinTokenLen = 16

// DefaultEnvironments are the environments of the page's selector when
// Options.Environments is empty; the first is selected by default.
var DefaultEnvironments = []string{"development", "staging", "production"}

// Options configure NewHandler.
type Options struct {
	// Token is the access token: API clients send it as
	// "Authorization: Bearer TOKEN", and the page signs in with it. At least
	// MinTokenLen bytes.
	Token string
	// Actor names whoever holds the token in audit events, CreatedBy and
	// UpdatedBy. "" means "admin".
	Actor string
	// Environments the API and the page serve, in the selector's order; the
	// first is the default. Empty means DefaultEnvironments.
	Environments []string
	// Log receives one line per request (method, path, status, actor) and
	// internal errors. Never a body, a token or a value. nil discards.
	Log *slog.Logger
	// SessionTTL is how long a page session lasts after sign-in. 0 means 12 hours.
	SessionTTL time.Duration
	// Now is the clock of sessions. nil means time.Now.
	Now func() time.Time
}

// handler serves the API and the page over one coffer Manager per environment.
type handler struct {
	envs       []string
	managers   map[string]*coffer.Manager
	actor      string
	log        *slog.Logger
	auth       *authenticator
	routes     http.Handler // the mux behind cross-origin protection
	defaultEnv string
}

//go:embed web
var webFS embed.FS

// NewHandler returns the HTTP handler of the Secrets API and page over m:
// each environment of opts.Environments is m.Environment(name), in m's
// project. The handler never returns, logs or reveals a secret value.
func NewHandler(m *coffer.Manager, opts Options) (http.Handler, error) {
	if m == nil {
		return nil, errors.New("server: NewHandler needs a Manager")
	}
	if len(opts.Token) < MinTokenLen {
		return nil, fmt.Errorf("server: the access token must be at least %d bytes", MinTokenLen)
	}
	envs := opts.Environments
	if len(envs) == 0 {
		envs = DefaultEnvironments
	}
	h := &handler{
		envs:       slices.Clone(envs),
		managers:   make(map[string]*coffer.Manager, len(envs)),
		actor:      opts.Actor,
		log:        opts.Log,
		defaultEnv: envs[0],
	}
	if h.actor == "" {
		h.actor = "admin"
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, name := range envs {
		if _, dup := h.managers[name]; dup {
			return nil, fmt.Errorf("server: environment %q is listed twice", name)
		}
		em, err := m.Environment(name)
		if err != nil {
			return nil, fmt.Errorf("server: environment %q: %w", name, err)
		}
		h.managers[name] = em
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	ttl := opts.SessionTTL
	if ttl == 0 {
		ttl = 12 * time.Hour
	}
	h.auth = newAuthenticator(opts.Token, ttl, now)

	// http.CrossOriginProtection refuses state-changing requests that a
	// browser marks as cross-site (Sec-Fetch-Site) or whose Origin is not
	// this host: the first CSRF defence, ahead of the per-session token.
	crossOrig := http.NewCrossOriginProtection()
	crossOrig.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{Status: http.StatusForbidden, Code: "cross_origin", Message: "Cross-origin requests are not allowed"})
	}))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.serveAsset("web/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", h.serveAsset("web/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", h.serveAsset("web/app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /favicon.svg", h.serveAsset("web/favicon.svg", "image/svg+xml"))
	mux.HandleFunc("/api/session", h.session)
	mux.Handle("/api/secrets", h.authenticated(h.secrets))
	mux.Handle("/api/secrets/{key}", h.authenticated(h.secret))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "route_not_found", Message: "No such API endpoint"})
	})
	h.routes = crossOrig.Handler(mux)
	return h, nil
}

// ServeHTTP applies, in order: security headers, panic recovery, the request
// log, cross-origin protection and the body limit; then routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	setSecurityHeaders(rec.Header())
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p) // net/http's way to abort a response; not a failure
			}
			// The panic value could hold anything; it is not logged.
			h.log.Error("panic while serving a request", "method", r.Method, "path", r.URL.Path)
			if !rec.wrote {
				writeError(rec, internalError)
			}
		}
		h.log.Info("request",
			"method", r.Method,
			"path", r.URL.Path,
			"status", rec.status(),
			"actor", rec.actor,
			"via", rec.via,
			"duration_ms", time.Since(start).Milliseconds())
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
	}
	h.routes.ServeHTTP(rec, r)
}

// setSecurityHeaders sets the headers every response carries. The page's
// script and style are separate files, so the policy needs no
// 'unsafe-inline'; nothing is fetched from anywhere but this origin.
func setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; "+
		"img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
	hd.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	// No response is worth caching: API answers describe secrets, and the
	// page is tiny.
	hd.Set("Cache-Control", "no-store")
}

func (h *handler) serveAsset(name, contentType string) http.HandlerFunc {
	body, err := webFS.ReadFile(name)
	if err != nil {
		panic("server: embedded asset missing: " + name) // a build mistake, caught by every test
	}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write(body)
	}
}

// statusRecorder remembers the status and who was served, for the request log.
type statusRecorder struct {
	http.ResponseWriter
	code  int
	wrote bool
	actor string
	via   string
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.wrote {
		s.code, s.wrote = http.StatusOK, true
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) status() int {
	if !s.wrote {
		return http.StatusOK
	}
	return s.code
}

// Unwrap lets http.ResponseController and MaxBytesReader reach the writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
