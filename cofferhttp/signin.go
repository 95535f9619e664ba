package cofferhttp

import (
	"log/slog"
	"net/http"
	"time"
)

// signInRequest is the body of POST /api/session.
type signInRequest struct {
	Token string `json:"token"`
}

// sessionResponse tells the page who is signed in and what it may do.
// csrf_token is present for cookie sessions: the page sends it back in the
// X-CSRF-Token header of every state-changing request.
type sessionResponse struct {
	Actor              string      `json:"actor"`
	Role               Role        `json:"role"`
	Via                string      `json:"via"`
	CSRFToken          string      `json:"csrf_token,omitempty"`
	Environments       []string    `json:"environments"`
	DefaultEnvironment string      `json:"default_environment"`
	Can                permissions `json:"can"`
	Features           features    `json:"features"`
}

// permissions are the role table's columns for the principal, so the page
// shows only what it may use.
type permissions struct {
	Read   bool `json:"read"`
	Write  bool `json:"write"`
	Reveal bool `json:"reveal"`
	Admin  bool `json:"admin"`
}

// features tells the page which parts of the API this build serves.
type features struct {
	Versions bool `json:"versions"`
	Check    bool `json:"check"`
	Generate bool `json:"generate"`
}

// session serves /api/session: POST signs in with a token and sets the
// session cookie, GET describes the principal, DELETE signs out.
func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.signIn(w, r)
	case http.MethodGet, http.MethodHead:
		h.authed(func(w http.ResponseWriter, r *http.Request, p *principal) {
			writeJSON(w, http.StatusOK, h.describe(p))
		})(w, r)
	case http.MethodDelete:
		h.authed(h.signOut)(w, r)
	default:
		methodNotAllowed(w, "GET, HEAD, POST, DELETE")
	}
}

func (h *handler) signIn(w http.ResponseWriter, r *http.Request) {
	client := h.clientAddr(r)
	if wait := h.throttle.wait(client); wait > 0 {
		h.tooMany(w, wait)
		return
	}
	var req signInRequest
	if !h.decodeBody(w, r, &req) {
		return
	}
	if req.Token == "" {
		writeError(w, apiError{
			Status: http.StatusUnprocessableEntity, Code: "token_required", Message: "Access token is required",
			Errors: []fieldError{{Field: "token", Code: "token_required", Message: "Access token is required"}},
		})
		return
	}
	t, ok := h.tokens.lookup(req.Token)
	if !ok {
		retry, throttled := h.throttle.fail(client)
		h.audit(r.Context(), slog.LevelWarn, "sign_in", slog.String("client", client), slog.String("outcome", "invalid_token"))
		if throttled {
			h.audit(r.Context(), slog.LevelWarn, "throttled", slog.String("client", client), slog.Int("retry_after_s", seconds(retry)))
		}
		writeError(w, apiError{
			Status: http.StatusUnauthorized, Code: "invalid_token", Message: "That access token is not valid",
			Errors: []fieldError{{Field: "token", Code: "invalid_token", Message: "That access token is not valid"}},
		})
		return
	}
	value, claims := h.sessions.issue(t)
	http.SetCookie(w, h.sessions.cookie(r, value))
	if rec, ok := w.(*statusRecorder); ok {
		rec.actor, rec.via = t.p.Name, "sign-in"
	}
	h.audit(r.Context(), slog.LevelInfo, "sign_in", slog.String("actor", t.p.Name), slog.String("role", string(t.p.Role)),
		slog.String("client", client), slog.String("outcome", "ok"))
	writeJSON(w, http.StatusCreated, h.describe(&principal{Principal: t.p, via: viaSession, session: claims}))
}

// signOut ends a page session: the cookie is cleared and the session is
// put on the sign-out list, so no replica accepts it again. Bearer and
// Options.Authenticate principals have no session; for them it only
// answers 204.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request, p *principal) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
	if p.session != nil {
		if err := h.sessions.signedOut.add(r.Context(), p.session, h.log); err != nil {
			// This handler refuses the session already; the others would
			// not learn of it, so say so.
			h.log.Error("recording a sign-out in the store failed", "error", err.Error())
			writeError(w, internalError)
			return
		}
		h.audit(r.Context(), slog.LevelInfo, "sign_out", slog.String("actor", p.Name))
	}
	w.WriteHeader(http.StatusNoContent)
}

// describe is GET /api/session's answer for p.
func (h *handler) describe(p *principal) sessionResponse {
	resp := sessionResponse{
		Actor: p.Name, Role: p.Role, Via: p.via,
		Environments: []string{},
		Can: permissions{
			Read: p.Role.can(actRead), Write: p.Role.can(actWrite),
			Reveal: p.Role.can(actReveal), Admin: p.Role.can(actAdmin),
		},
		Features: serverFeatures,
	}
	if p.session != nil {
		resp.CSRFToken = h.sessions.csrf(p.session)
	}
	for _, env := range h.envs {
		if p.allows(env) {
			resp.Environments = append(resp.Environments, env)
		}
	}
	if len(resp.Environments) > 0 {
		resp.DefaultEnvironment = resp.Environments[0]
	}
	return resp
}

// serverFeatures are the parts of the API this build serves.
var serverFeatures = features{Versions: true, Check: true, Generate: true}
