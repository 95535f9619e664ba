package cofferhttp

import (
	"encoding/json"
	"net/http"
	"testing"
)

// checkAnswer checks what every API answer must be, whatever the request:
// no 500, a JSON body, and on error the documented shape with at least one
// problem, each with a code and a message.
func checkAnswer(t *testing.T, status int, body []byte, okStatus int) {
	t.Helper()
	switch status {
	case okStatus:
		var s secretJSON
		if err := json.Unmarshal(body, &s); err != nil || s.Key == "" {
			t.Fatalf("status %d with a body that is not a secret: %v %s", status, err, body)
		}
	case http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		var e apiError
		if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" || len(e.Errors) == 0 {
			t.Fatalf("status %d with a malformed error body: %v %s", status, err, body)
		}
		for _, p := range e.Errors {
			if p.Code == "" || p.Message == "" {
				t.Fatalf("a problem without code or message: %s", body)
			}
		}
	default:
		t.Fatalf("unexpected status %d: %s", status, body)
	}
}

// FuzzCreateBody sends arbitrary bodies to POST /api/secrets.
func FuzzCreateBody(f *testing.F) {
	for _, seed := range []string{
		`{"key":"API_KEY","value":"v","description":"d","type":"api_key"}`,
		`{"key":"","value":""}`, `{}`, `null`, `[]`, `"x"`, `{"key":1}`, `{"key":"K","value":"a\u0000b"}`,
		`{"key":"K","value":"v"} trailing`, `{"key":"K","value":"v","extra":true}`, `{"key":"\xff","value":"v"}`,
		`{"key":"K","value":"v","description":"\ud800"}`, `{"key":"K","type":"Bad Type","value":"v"}`,
	} {
		f.Add(seed)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		w := fx.serve(request("POST", "/api/secrets", body, bearer))
		checkAnswer(t, w.Code, w.Body.Bytes(), http.StatusCreated)
	})
}

// FuzzUpdateBody sends arbitrary bodies to PATCH /api/secrets/{key}.
func FuzzUpdateBody(f *testing.F) {
	for _, seed := range []string{
		`{"value":"new"}`, `{"description":"d"}`, `{"value":"","description":null}`, `{}`, `null`,
		`{"key":"OTHER"}`, `{"description":5}`, `{"value":"a\u0000"}`, `{"value"`,
	} {
		f.Add(seed)
	}
	fx := newFixture(f)
	fx.seed("development", "DATABASE_URL", "postgres://db", "Primary database")
	f.Fuzz(func(t *testing.T, body string) {
		w := fx.serve(request("PATCH", "/api/secrets/DATABASE_URL", body, bearer))
		checkAnswer(t, w.Code, w.Body.Bytes(), http.StatusOK)
	})
}
