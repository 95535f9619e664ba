package main

import (
	"net/http"
	"time"
)

// signInRequest is the body of POST /api/session.
type signInRequest struct {
	Token string `json:"token"`
}

// sessionResponse tells the page who is signed in and what it may select.
// csrf_token is present for cookie sessions: the page sends it back in the
// X-CSRF-Token header of every state-changing request.
type sessionResponse struct {
	Actor              string   `json:"actor"`
	CSRFToken          string   `json:"csrf_token,omitempty"`
	Environments       []string `json:"environments"`
	DefaultEnvironment string   `json:"default_environment"`
}

// session serves /api/session: POST signs in with the access token and
// sets the session cookie, GET describes the session, DELETE signs out.
func (h *handler) session(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodPost:
		h.signIn(w, r)
	case http.MethodGet, http.MethodHead:
		h.authenticated(func(w http.ResponseWriter, r *http.Request) {
			resp := h.sessionResponse()
			if s := principalOf(r).session; s != nil {
				resp.CSRFToken = s.csrf
			}
			writeJSON(w, http.StatusOK, resp)
		}).ServeHTTP(w, r)
	case http.MethodDelete:
		h.authenticated(func(w http.ResponseWriter, r *http.Request) {
			if c, err := r.Cookie(sessionCookie); err == nil {
				h.auth.endSession(c.Value)
			}
			http.SetCookie(w, &http.Cookie{
				Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
				HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
			})
			w.WriteHeader(http.StatusNoContent)
		}).ServeHTTP(w, r)
	default:
		methodNotAllowed(w, "GET, HEAD, POST, DELETE")
	}
}

func (h *handler) signIn(w http.ResponseWriter, r *http.Request) {
	var req signInRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !h.auth.tokenOK(req.Token) {
		writeError(w, apiError{
			Status: http.StatusUnauthorized, Code: "invalid_token", Message: "That access token is not valid",
			Errors: []fieldError{{Field: "token", Code: "invalid_token", Message: "That access token is not valid"}},
		})
		return
	}
	id, csrf := h.auth.newSession()
	http.SetCookie(w, h.auth.sessionCookie(r, id))
	if rec, ok := w.(*statusRecorder); ok {
		rec.actor, rec.via = h.actor, "sign-in"
	}
	resp := h.sessionResponse()
	resp.CSRFToken = csrf
	writeJSON(w, http.StatusCreated, resp)
}

func (h *handler) sessionResponse() sessionResponse {
	return sessionResponse{Actor: h.actor, Environments: h.envs, DefaultEnvironment: h.defaultEnv}
}
