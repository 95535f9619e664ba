package cofferhttp

import (
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/coffer-go/coffer"
)

// DefaultMaxBodyBytes bounds every request body when Options.MaxBodyBytes
// is 0: a create with a 64 KiB value (coffer's default limit), JSON-escaped,
// fits; anything beyond is refused with 413 before it is parsed.
const DefaultMaxBodyBytes = 128 << 10

// DefaultSignOutProject is the project of the sign-out list when
// Options.SignOutProject is "".
const DefaultSignOutProject = "cofferhttp"

// Options configure NewHandler. Tokens or Authenticate must be set: without
// either nobody could sign in.
type Options struct {
	// Environments the API and the page serve, in the page's order; the
	// first is the default. nil means the Manager's own environment only.
	Environments []string
	// Tokens are the bearer tokens of the API, also used to sign in to the
	// page. The handler keeps only their hashes.
	Tokens []Token
	// SessionKey (SessionKeyLen bytes) signs page sessions: handlers sharing
	// it and the store accept each other's sessions and sign-outs. nil
	// means a random key: sessions end when the handler does.
	SessionKey []byte
	// MaxBodyBytes bounds every request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Authenticate, when set, is consulted before the tokens on every API
	// request: it maps a request to a principal (a team's SSO proxy header,
	// a verified mTLS certificate). It returns nil, nil to leave the
	// request to the tokens and the page session; an error refuses the
	// request with 401 and counts as a failed authentication. Its principals
	// need no session; their state-changing requests are protected from
	// other sites by cross-origin protection alone (see the package doc).
	Authenticate func(*http.Request) (*Principal, error)
	// ClientAddress names the client of a request for the throttling of
	// failed authentication. nil means the connection's address (an IPv6
	// client's /64). Behind a reverse proxy, derive it from the header the
	// proxy sets; otherwise every client shares the proxy's address.
	ClientAddress func(*http.Request) string
	// SignOutProject is the project, in the Manager's store, of the list of
	// signed-out page sessions (environment "sessions"); "" means
	// DefaultSignOutProject. It must not be a project people manage.
	SignOutProject string
	// SessionTTL is how long a page session lasts after sign-in; 0 means
	// DefaultSessionTTL.
	SessionTTL time.Duration

	// Log receives one line per request (method, path, status, actor, how
	// it was authenticated) and internal errors: never a body, a token or
	// a value. nil discards.
	Log *slog.Logger
	// AuditLog receives the handler's own events: sign-in, sign-out,
	// failed authentication, throttling and forbidden requests. Operations
	// on secrets are audited by the Manager (coffer.Options.AuditLog), with
	// the principal as actor. nil: no events.
	AuditLog *slog.Logger
	// Now is the clock of sessions and throttling; nil means time.Now.
	Now func() time.Time
}

// handler serves the API and the page over one coffer Manager per environment.
type handler struct {
	envs       []string
	managers   map[string]*coffer.Manager
	defaultEnv string
	maxBody    int64

	tokens     tokenTable
	authFn     func(*http.Request) (*Principal, error)
	clientAddr func(*http.Request) string
	sessions   *sessions
	throttle   *throttle
	reads      *readGroup

	log, auditLog *slog.Logger
	routes        http.Handler // the mux behind cross-origin protection
}

//go:embed web
var webFS embed.FS

// NewHandler returns the HTTP handler of the Secrets API and page over m:
// each environment of opts.Environments is m.Environment(name), in m's
// project. The handler never logs a secret value, and returns one only from
// the value and environ endpoints, to a role allowed to read values.
func NewHandler(m *coffer.Manager, opts *Options) (http.Handler, error) {
	if m == nil {
		return nil, errors.New("cofferhttp: NewHandler needs a Manager")
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	h := &handler{
		managers:   map[string]*coffer.Manager{},
		maxBody:    o.MaxBodyBytes,
		authFn:     o.Authenticate,
		clientAddr: o.ClientAddress,
		log:        o.Log,
		auditLog:   o.AuditLog,
	}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.maxBody < 0 {
		return nil, fmt.Errorf("cofferhttp: MaxBodyBytes is %d; it must not be negative", o.MaxBodyBytes)
	}
	if h.clientAddr == nil {
		h.clientAddr = remoteAddr
	}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	ttl := o.SessionTTL
	if ttl == 0 {
		ttl = DefaultSessionTTL
	}
	if ttl < 0 {
		return nil, fmt.Errorf("cofferhttp: SessionTTL is %s; it must not be negative", ttl)
	}

	envs := o.Environments
	if envs == nil {
		envs = []string{m.EnvironmentName()}
	}
	if len(envs) == 0 {
		return nil, errors.New("cofferhttp: Environments is empty; nil means the Manager's own")
	}
	for _, name := range envs {
		if _, dup := h.managers[name]; dup {
			return nil, fmt.Errorf("cofferhttp: environment %q is listed twice", name)
		}
		em, err := m.Environment(name)
		if err != nil {
			return nil, fmt.Errorf("cofferhttp: environment %q: %w", name, err)
		}
		h.managers[name] = em
	}
	h.envs, h.defaultEnv = slices.Clone(envs), envs[0]

	if err := h.setTokens(o.Tokens); err != nil {
		return nil, err
	}
	if len(h.tokens) == 0 && h.authFn == nil {
		return nil, errors.New("cofferhttp: no way to sign in: set Options.Tokens or Options.Authenticate")
	}

	key := o.SessionKey
	if key == nil {
		key = make([]byte, SessionKeyLen)
		_, _ = rand.Read(key)
	}
	if len(key) != SessionKeyLen {
		return nil, fmt.Errorf("cofferhttp: SessionKey is %d bytes; it must be %d", len(key), SessionKeyLen)
	}
	signOutProject := o.SignOutProject
	if signOutProject == "" {
		signOutProject = DefaultSignOutProject
	}
	if signOutProject == m.ProjectName() {
		return nil, fmt.Errorf("cofferhttp: the sign-out list cannot live in the served project %q; set SignOutProject", signOutProject)
	}
	so, err := m.Project(signOutProject)
	if err == nil {
		so, err = so.Environment("sessions")
	}
	if err != nil {
		return nil, fmt.Errorf("cofferhttp: SignOutProject: %w", err)
	}
	h.sessions = newSessions(key, ttl, now, h.tokens, newSignOutList(so, now))
	h.throttle = newThrottle(now)
	h.reads = newReadGroup()

	// http.CrossOriginProtection refuses state-changing requests that a
	// browser marks as cross-site (Sec-Fetch-Site) or whose Origin is not
	// this host: the first CSRF defence, ahead of the per-session token.
	crossOrig := http.NewCrossOriginProtection()
	crossOrig.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{Status: http.StatusForbidden, Code: "cross_origin", Message: "Cross-origin requests are not allowed"})
	}))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", serveAsset("web/index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", serveAsset("web/app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", serveAsset("web/app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /favicon.svg", serveAsset("web/favicon.svg", "image/svg+xml"))
	mux.HandleFunc("/api/session", h.session)
	mux.HandleFunc("/api/secrets", h.authed(h.secrets))
	mux.HandleFunc("/api/keys", h.authed(h.keys))
	mux.HandleFunc("/api/secrets/{key}", h.authed(h.secret))
	mux.HandleFunc("/api/secrets/{key}/value", h.authed(h.value))
	mux.HandleFunc("/api/secrets/{key}/versions", h.authed(h.versions))
	mux.HandleFunc("/api/secrets/{key}/rollback", h.authed(h.rollback))
	mux.HandleFunc("/api/environ", h.authed(h.environ))
	mux.HandleFunc("/api/access", h.authed(h.access))
	mux.HandleFunc("/api/check", h.authed(h.check))
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, apiError{Status: http.StatusNotFound, Code: "route_not_found", Message: "No such API endpoint"})
	})
	h.routes = crossOrig.Handler(mux)
	return h, nil
}

// setTokens checks the configured tokens and keeps their hashes.
func (h *handler) setTokens(tokens []Token) error {
	names := map[string]bool{}
	hashes := map[[sha256.Size]byte]bool{}
	for i, t := range tokens {
		p := Principal{Name: t.Name, Role: t.Role, Environments: slices.Clone(t.Environments)}
		if err := checkPrincipal(p); err != nil {
			return fmt.Errorf("cofferhttp: Tokens[%d]: %w", i, err)
		}
		if names[t.Name] {
			return fmt.Errorf("cofferhttp: Tokens[%d]: the name %q is used twice", i, t.Name)
		}
		if len(t.Secret) < MinTokenLen {
			// Never the secret itself in an error.
			return fmt.Errorf("cofferhttp: token %q: the secret is %d bytes; it must be at least %d", t.Name, len(t.Secret), MinTokenLen)
		}
		if t.Environments != nil && len(t.Environments) == 0 {
			return fmt.Errorf("cofferhttp: token %q: Environments is empty; nil means every served environment", t.Name)
		}
		for _, env := range t.Environments {
			if _, ok := h.managers[env]; !ok {
				return fmt.Errorf("cofferhttp: token %q: environment %q is not served", t.Name, env)
			}
		}
		sum := sha256.Sum256([]byte(t.Secret))
		if hashes[sum] {
			return fmt.Errorf("cofferhttp: token %q: another token has the same secret", t.Name)
		}
		names[t.Name], hashes[sum] = true, true
		h.tokens = append(h.tokens, tokenEntry{hash: sum, p: p})
	}
	return nil
}

// ServeHTTP applies, in order: security headers, panic recovery, the request
// log, the body limit and cross-origin protection; then routes.
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
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status()),
			slog.String("actor", rec.actor),
			slog.String("via", rec.via),
			slog.Int64("duration_us", time.Since(start).Microseconds()))
	}()
	if r.Body != nil {
		r.Body = http.MaxBytesReader(rec, r.Body, h.maxBody)
	}
	h.routes.ServeHTTP(rec, r)
}

// setSecurityHeaders sets the headers every response carries. The page's
// script and style are separate files, so the policy needs no
// 'unsafe-inline'; nothing is fetched from anywhere but this origin.
func setSecurityHeaders(hd http.Header) {
	hd["Content-Security-Policy"] = cspValue
	hd["X-Content-Type-Options"] = nosniff
	hd["Referrer-Policy"] = noReferrer
	hd["X-Frame-Options"] = deny
	hd["Cross-Origin-Opener-Policy"] = sameOrigin
	hd["Cross-Origin-Resource-Policy"] = sameOrigin
	hd["Permissions-Policy"] = permissionsPolicy
	// No response is worth caching: API answers describe secrets (or are
	// values), and the page is tiny.
	hd["Cache-Control"] = noStore
}

// The security headers' values, shared by every response (never modified).
var (
	cspValue = []string{"default-src 'none'; script-src 'self'; style-src 'self'; " +
		"img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"}
	nosniff           = []string{"nosniff"}
	noReferrer        = []string{"no-referrer"}
	deny              = []string{"DENY"}
	sameOrigin        = []string{"same-origin"}
	permissionsPolicy = []string{"camera=(), microphone=(), geolocation=(), payment=()"}
	noStore           = []string{"no-store"}
)

func serveAsset(name, contentType string) http.HandlerFunc {
	body, err := webFS.ReadFile(name)
	if err != nil {
		panic("cofferhttp: embedded asset missing: " + name) // a build mistake, caught by every test
	}
	return func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, http.StatusOK, contentType, body)
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

func itoa(n int) string { return strconv.Itoa(n) }
