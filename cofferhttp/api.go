package cofferhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coffer-go/coffer"
)

// envParam selects the environment of a request: ?env=production. Without
// it, the first served environment.
const envParam = "env"

// secretJSON is a secret's metadata as the API returns it. There is no
// value field: only the value endpoints return values.
type secretJSON struct {
	Key         string    `json:"key"`
	Description string    `json:"description"`
	Type        string    `json:"type"`
	Project     string    `json:"project"`
	Environment string    `json:"environment"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	RotatedAt   time.Time `json:"rotated_at"`
	CreatedBy   string    `json:"created_by"`
	UpdatedBy   string    `json:"updated_by"`
	Version     int       `json:"version"`
}

func toJSON(s coffer.Secret) secretJSON {
	return secretJSON{
		Key: s.Key, Description: s.Description, Type: string(s.Type),
		Project: s.Project, Environment: s.Environment,
		CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt, RotatedAt: s.RotatedAt,
		CreatedBy: s.CreatedBy, UpdatedBy: s.UpdatedBy, Version: s.Version,
	}
}

// createRequest is the body of POST /api/secrets: the Add Secret dialog.
// Generate, instead of a value, asks the server for a random value of that
// many bytes (coffer.Generate): it is stored and never sent anywhere.
type createRequest struct {
	Key         string `json:"key"`
	Value       string `json:"value"`
	Generate    int    `json:"generate"`
	Description string `json:"description"`
	Type        string `json:"type"`
}

// updateRequest is the body of PATCH /api/secrets/{key}: the edit dialog.
// An empty value keeps the current value; a null or absent description
// keeps the current description; generate sets a new random value.
//
// IfVersion makes the change check-and-set: it applies only while the
// secret is at that version (the one the dialog showed), else 409 conflict.
type updateRequest struct {
	Value       string  `json:"value"`
	Generate    int     `json:"generate"`
	Description *string `json:"description"`
	IfVersion   int     `json:"if_version"`
}

// errValueAndGenerate is a request with both a value and generate.
var errValueAndGenerate = fmt.Errorf("%w: send either a value or generate, not both", coffer.ErrInvalidValue)

// valueOf returns the value a create or update request sets: the one given,
// or a generated one.
func valueOf(value string, generate int) (coffer.Value, error) {
	if generate == 0 {
		return coffer.Value(value), nil
	}
	if value != "" {
		return "", errValueAndGenerate
	}
	v, err := coffer.Generate(generate)
	if err != nil {
		return "", inField{"generate", err}
	}
	return v, nil
}

// listResponse is the body of GET /api/secrets, as appendListing writes it.
type listResponse struct {
	Environment string       `json:"environment"`
	Secrets     []secretJSON `json:"secrets"`
}

// keysResponse is the body of GET /api/keys, as appendKeys writes it.
type keysResponse struct {
	Environment string   `json:"environment"`
	Keys        []string `json:"keys"`
}

// secretSizeHint is about the size of a secret's metadata in JSON.
const secretSizeHint = 320

// secrets serves /api/secrets: GET lists, POST creates.
func (h *handler) secrets(w http.ResponseWriter, r *http.Request, p *principal) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, env, ok := h.allow(w, r, p, actRead)
		if !ok {
			return
		}
		// The read and its JSON are shared by the requests it serves.
		body, err := h.sharedRead(r.Context(), p, "list", env, "", func(ctx context.Context) ([]byte, error) {
			list, err := m.List(ctx)
			if err != nil {
				return nil, err
			}
			return appendListing(make([]byte, 0, 64+secretSizeHint*len(list)), env, list)
		})
		if err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		writeBody(w, http.StatusOK, jsonType, body)
	case http.MethodPost:
		m, _, ok := h.allow(w, r, p, actWrite)
		if !ok {
			return
		}
		var req createRequest
		if !h.decodeBody(w, r, &req) {
			return
		}
		value, err := valueOf(req.Value, req.Generate)
		if err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		s, err := m.Create(r.Context(), coffer.NewSecret{
			Key: req.Key, Value: value, Description: req.Description, Type: coffer.Type(req.Type),
		})
		if err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		w.Header().Set("Location", "/api/secrets/"+url.PathEscape(s.Key)+"?"+envParam+"="+url.QueryEscape(s.Environment))
		writeJSON(w, http.StatusCreated, toJSON(s))
	default:
		methodNotAllowed(w, "GET, HEAD, POST")
	}
}

// keys serves GET /api/keys: the keys of an environment, sorted, and
// nothing else (Manager.Keys). It is the listing for programs that need
// only the names (completion, did-you-mean): it never reads a secret's
// metadata, so it costs the store much less than GET /api/secrets, and its
// answer is a fraction of the size. The same roles may use it.
func (h *handler) keys(w http.ResponseWriter, r *http.Request, p *principal) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		methodNotAllowed(w, "GET, HEAD")
		return
	}
	m, env, ok := h.allow(w, r, p, actRead)
	if !ok {
		return
	}
	body, err := h.sharedRead(r.Context(), p, "keys", env, "", func(ctx context.Context) ([]byte, error) {
		keys, err := m.Keys(ctx)
		if err != nil {
			return nil, err
		}
		return appendKeys(make([]byte, 0, 64+16*len(keys)), env, keys), nil
	})
	if err != nil {
		h.writeCofferError(w, r, err)
		return
	}
	writeBody(w, http.StatusOK, jsonType, body)
}

// secret serves /api/secrets/{key}: GET reads metadata, PATCH edits,
// DELETE deletes.
func (h *handler) secret(w http.ResponseWriter, r *http.Request, p *principal) {
	key := r.PathValue("key")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		m, env, ok := h.allow(w, r, p, actRead)
		if !ok {
			return
		}
		body, err := h.sharedRead(r.Context(), p, "get", env, key, func(ctx context.Context) ([]byte, error) {
			s, err := m.Get(ctx, key)
			if err != nil {
				return nil, err
			}
			b, err := appendSecret(make([]byte, 0, secretSizeHint), s)
			if err != nil {
				return nil, err
			}
			return append(b, '\n'), nil
		})
		if err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		writeBody(w, http.StatusOK, jsonType, body)
	case http.MethodPatch:
		m, _, ok := h.allow(w, r, p, actWrite)
		if !ok {
			return
		}
		var req updateRequest
		if !h.decodeBody(w, r, &req) {
			return
		}
		value, err := valueOf(req.Value, req.Generate)
		if err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		s, err := m.Update(r.Context(), key, coffer.Change{Value: value, Description: req.Description, IfVersion: req.IfVersion})
		if err != nil && req.IfVersion < 0 {
			err = inField{"if_version", err}
		}
		if err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, toJSON(s))
	case http.MethodDelete:
		m, _, ok := h.allow(w, r, p, actWrite)
		if !ok {
			return
		}
		if err := m.Delete(r.Context(), key); err != nil {
			h.writeCofferError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		methodNotAllowed(w, "GET, HEAD, PATCH, DELETE")
	}
}

// envOf returns the environment a request names; without one, the first
// served environment the principal may use (the page's default for it).
func (h *handler) envOf(r *http.Request, p *principal) string {
	if r.URL.RawQuery != "" {
		if env := r.URL.Query().Get(envParam); env != "" {
			return env
		}
	}
	if p.Environments == nil {
		return h.defaultEnv
	}
	for _, env := range h.envs {
		if p.allows(env) {
			return env
		}
	}
	return h.defaultEnv
}

// badEnvironment answers 400 for an environment the handler does not serve.
func (h *handler) badEnvironment(w http.ResponseWriter, env string) {
	writeError(w, apiError{
		Status: http.StatusBadRequest, Code: "invalid_environment",
		Message: fmt.Sprintf("Unknown environment %q; this server serves %v", env, h.envs),
		Errors:  []fieldError{{Field: envParam, Code: "invalid_environment", Message: fmt.Sprintf("Unknown environment %q", env)}},
	})
}

// writeCofferError answers a Manager's error with its code and status; any
// other error is logged (coffer's errors hold no value) and answered 500.
// A request whose client went away (its context canceled, as net/http does
// when the connection closes) is no failure of the server: nobody reads the
// answer, so it is not logged as an error, and the request log records
// statusClientClosed.
func (h *handler) writeCofferError(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := fromCoffer(err); ok {
		writeError(w, e)
		return
	}
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		writeError(w, clientClosed)
		return
	}
	h.log.Error("coffer operation failed", "method", r.Method, "path", r.URL.Path, "error", err.Error())
	writeError(w, internalError)
}

// decodeBody reads a JSON request body into v. It answers 415 for a body
// that is not JSON (which also keeps cross-site HTML forms out: they cannot
// send application/json), 413 past the body limit, and 400 for malformed
// JSON or unknown fields. Messages never quote the body: it may hold a value.
func (h *handler) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, apiError{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type", Message: "Send the request body as application/json"})
		return false
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err = dec.Decode(v)
	if err == nil {
		// One JSON value and nothing after it.
		if _, extra := dec.Token(); extra != io.EOF {
			err = errTrailingData
		}
	}
	if err == nil {
		return true
	}
	var tooLarge *http.MaxBytesError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, apiError{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large", Message: fmt.Sprintf("The request body is larger than %d bytes", tooLarge.Limit)})
	case errors.As(err, &typeErr) && typeErr.Field != "":
		what := "a string"
		if k := typeErr.Type.Kind().String(); strings.HasPrefix(k, "int") {
			what = "a whole number"
		}
		writeError(w, apiError{
			Status: http.StatusBadRequest, Code: "invalid_json",
			Message: fmt.Sprintf("Field %q must be %s", typeErr.Field, what),
			Errors:  []fieldError{{Field: typeErr.Field, Code: "invalid_json", Message: "Must be " + what}},
		})
	case isUnknownField(err):
		// encoding/json names the field in its message; the field name is
		// the client's own and never a value, but keep the answer generic
		// and list the fields that exist instead.
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "unknown_field", Message: "The request body has a field this endpoint does not take; it takes " + fieldsOf(v)})
	default:
		writeError(w, apiError{Status: http.StatusBadRequest, Code: "invalid_json", Message: "The request body is not a valid JSON object"})
	}
	return false
}

var errTrailingData = errors.New("trailing data after the JSON object")

// isUnknownField reports encoding/json's error for a field the target does
// not have; it has no typed error for it, only this message prefix.
func isUnknownField(err error) bool {
	return strings.HasPrefix(err.Error(), "json: unknown field ")
}

func fieldsOf(v any) string {
	switch v.(type) {
	case *createRequest:
		return `"key", "value", "generate", "description" and "type"`
	case *updateRequest:
		return `"value", "generate", "description" and "if_version"`
	case *signInRequest:
		return `"token"`
	case *rollbackRequest:
		return `"version"`
	}
	return "no other fields"
}
