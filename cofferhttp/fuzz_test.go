package cofferhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
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
		checkError(t, status, body)
	default:
		t.Fatalf("unexpected status %d: %s", status, body)
	}
}

// checkError checks an error answer's documented shape: a code, a message
// and at least one problem, each with a code and a message.
func checkError(t *testing.T, status int, body []byte) {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" || len(e.Errors) == 0 {
		t.Fatalf("status %d with a malformed error body: %v %s", status, err, body)
	}
	for _, p := range e.Errors {
		if p.Code == "" || p.Message == "" {
			t.Fatalf("a problem without code or message: %s", body)
		}
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

// FuzzSignInBody sends arbitrary bodies to POST /api/session.
func FuzzSignInBody(f *testing.F) {
	for _, seed := range []string{
		`{"token":"` + testToken + `"}`, `{"token":""}`, `{}`, `null`, `{"token":1}`, `{"token":"x","extra":1}`,
		`{"token":"` + testToken + `"} {}`, `{"token":"\u0000"}`, `{"token"`,
	} {
		f.Add(seed)
	}
	fx := newFixture(f)
	f.Fuzz(func(t *testing.T, body string) {
		// Each input from its own address, so throttling does not hide
		// the parser's answers.
		r := request("POST", "/api/session", body)
		r.RemoteAddr = "[2001:db8:" + itoa(len(body)%65536) + "::1]:1"
		w := fx.serve(r)
		switch w.Code {
		case http.StatusCreated:
			var s sessionResponse
			if err := json.Unmarshal(w.Body.Bytes(), &s); err != nil || s.CSRFToken == "" || len(w.Result().Cookies()) != 1 {
				t.Fatalf("201 without a session: %v %s", err, w.Body)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusUnsupportedMediaType,
			http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
			checkError(t, w.Code, w.Body.Bytes())
			if len(w.Result().Cookies()) != 0 {
				t.Fatalf("status %d set a cookie", w.Code)
			}
		default:
			t.Fatalf("unexpected status %d: %s", w.Code, w.Body)
		}
	})
}

// FuzzSessionCookie sends arbitrary session cookies: none is accepted but
// the ones the handler issued, and none makes it fail.
func FuzzSessionCookie(f *testing.F) {
	fx := newFixture(f)
	s := fx.signIn()
	f.Add(s.cookie.Value)
	f.Add("")
	f.Add(".")
	f.Add("e30.AAAA")
	payload, sig, _ := strings.Cut(s.cookie.Value, ".")
	f.Add(payload + "." + sig + "x")
	f.Fuzz(func(t *testing.T, value string) {
		r := request("GET", "/api/secrets", "")
		r.Header.Set("Cookie", sessionCookie+"="+value)
		w := fx.serve(r)
		switch {
		case w.Code == http.StatusOK && value == s.cookie.Value:
		case w.Code == http.StatusUnauthorized:
			checkError(t, w.Code, w.Body.Bytes())
		default:
			t.Fatalf("cookie %q: status %d", value, w.Code)
		}
	})
}

// FuzzRollbackBody sends arbitrary bodies to POST /api/secrets/{key}/rollback.
func FuzzRollbackBody(f *testing.F) {
	for _, seed := range []string{`{"version":1}`, `{"version":2}`, `{"version":0}`, `{"version":-1}`, `{}`, `null`,
		`{"version":"1"}`, `{"version":1.5}`, `{"version":1e99}`, `{"version":1,"x":1}`, `{"version":1} 1`} {
		f.Add(seed)
	}
	fx := newFixture(f)
	fx.seed("development", "DATABASE_URL", "postgres://db", "Primary database")
	if _, err := fx.env("development").Update(context.Background(), "DATABASE_URL", coffer.Change{Value: "postgres://db2"}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		w := fx.serve(request("POST", "/api/secrets/DATABASE_URL/rollback", body, bearer))
		checkAnswer(t, w.Code, w.Body.Bytes(), http.StatusOK)
	})
}
