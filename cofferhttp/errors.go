package cofferhttp

import (
	"encoding/json"
	"errors"
	"net/http"
	"unicode"
	"unicode/utf8"

	"github.com/coffer-go/coffer"
)

// apiError is the JSON body of every error response:
//
//	{"code": "key_required", "message": "Secret key is required; ...",
//	 "errors": [{"field": "key", "code": "key_required", "message": "Secret key is required"}, ...]}
//
// code is the code of the first problem, message joins every problem's
// message, and errors lists each problem of the call with the field it
// belongs to ("" for problems of the whole request, such as no_changes).
type apiError struct {
	Status  int          `json:"-"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Errors  []fieldError `json:"errors,omitempty"`
	// RetryAfter, in seconds, sets the Retry-After header (429).
	RetryAfter int `json:"-"`
}

// fieldError is one problem of a request.
type fieldError struct {
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// internalError is what the client sees of an unexpected failure; the
// details go to the server log (coffer's errors never hold a value).
var internalError = apiError{Status: http.StatusInternalServerError, Code: "internal", Message: "Internal server error"}

// statusClientClosed is the request log's status of a request whose client
// closed the connection before its answer was ready (nginx's 499, which
// net/http does not name). The client never sees it.
const statusClientClosed = 499

// clientClosed is the answer written, for the request log's sake, to a
// request whose client went away.
var clientClosed = apiError{Status: statusClientClosed, Code: "client_closed_request", Message: "The client closed the request"}

// sentinels maps each coffer sentinel the API can meet to the status it
// answers with and the request field it belongs to. Its code is always
// coffer.ErrorCode's, the same the audit log records: this table holds no
// code of its own.
var sentinels = []struct {
	err    error
	status int
	field  string
}{
	{coffer.ErrKeyRequired, http.StatusUnprocessableEntity, "key"},
	{coffer.ErrInvalidKey, http.StatusUnprocessableEntity, "key"},
	{coffer.ErrValueRequired, http.StatusUnprocessableEntity, "value"},
	{coffer.ErrValueTooLarge, http.StatusRequestEntityTooLarge, "value"},
	{coffer.ErrInvalidValue, http.StatusUnprocessableEntity, "value"},
	{coffer.ErrDescriptionTooLong, http.StatusUnprocessableEntity, "description"},
	{coffer.ErrInvalidDescription, http.StatusUnprocessableEntity, "description"},
	{coffer.ErrInvalidType, http.StatusUnprocessableEntity, "type"},
	{coffer.ErrNoChanges, http.StatusUnprocessableEntity, ""},
	{coffer.ErrNotFound, http.StatusNotFound, "key"},
	{coffer.ErrAlreadyExists, http.StatusConflict, "key"},
	{coffer.ErrConflict, http.StatusConflict, ""},
	{coffer.ErrClosed, http.StatusServiceUnavailable, ""},
	{coffer.ErrInvalidOptions, http.StatusUnprocessableEntity, ""}, // the field comes from inField
}

// inField names the request field an error of coffer's concerns, where the
// sentinel alone does not say (ErrInvalidOptions: "generate", "if_version").
type inField struct {
	field string
	err   error
}

func (e inField) Error() string { return e.err.Error() }
func (e inField) Unwrap() error { return e.err }

// fromCoffer turns an error of a coffer Manager into the API's answer: one
// entry per problem (coffer reports every problem of a call at once), each
// with its code and field. ok is false for an error no sentinel matches,
// which the caller answers with a 500.
func fromCoffer(err error) (apiError, bool) {
	var e apiError
	for _, p := range problemsOf(err) {
		fe, status, ok := classify(p)
		if !ok {
			return apiError{}, false
		}
		if e.Code == "" {
			e.Code, e.Status, e.Message = fe.Code, status, fe.Message
		} else {
			e.Message += "; " + fe.Message
			// A mix of problems answers 422; 413 and the others stand alone.
			if status != e.Status {
				e.Status = http.StatusUnprocessableEntity
			}
		}
		e.Errors = append(e.Errors, fe)
	}
	return e, e.Code != ""
}

// problemsOf splits an error holding several problems (coffer joins them
// with go-multierror) into its parts.
func problemsOf(err error) []error {
	var multi interface{ WrappedErrors() []error }
	if errors.As(err, &multi) {
		return multi.WrappedErrors()
	}
	return []error{err}
}

func classify(err error) (fieldError, int, bool) {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			msg := capitalize(err.Error())
			if s.err == coffer.ErrClosed {
				msg = "The server is shutting down"
			}
			field := s.field
			var in inField
			if errors.As(err, &in) {
				field = in.field
			}
			return fieldError{Field: field, Code: coffer.ErrorCode(s.err), Message: msg}, s.status, true
		}
	}
	return fieldError{}, 0, false
}

// capitalize gives coffer's messages the page's capital first letter:
// "secret key is required" becomes "Secret key is required".
func capitalize(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// writeError writes an error response.
func writeError(w http.ResponseWriter, e apiError) {
	if len(e.Errors) == 0 {
		e.Errors = []fieldError{{Code: e.Code, Message: e.Message}}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, e)
}

// jsonType is the Content-Type of every JSON answer.
const jsonType = "application/json; charset=utf-8"

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"code":"internal","message":"Internal server error","errors":[{"code":"internal","message":"Internal server error"}]}` + "\n")
	}
	writeBody(w, status, jsonType, body)
}

// marshal encodes v as a JSON response body, with its final newline.
func marshal(v any) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(body, '\n'), nil
}

// writeBody writes a complete response body with its length.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, apiError{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed", Message: "Method not allowed; use " + allow})
}
