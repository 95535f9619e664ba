package cofferhttp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// seedAll stores the secrets every API case starts from.
func seedAll(f *fixture) {
	f.seed("development", "DATABASE_URL", "postgres://dev-db/app", "Primary database")
	f.seed("production", "STRIPE_API_KEY", "sk_live_51H", "Payments")
}

// storeChange edits a copy of the store's state (fixture.state) into what a
// request should leave.
type storeChange func(map[string][]storedSecret)

// TestAPI runs every endpoint and error path against a handler over a real
// in-memory Manager. After every request the whole store, values included,
// must be exactly as before with the case's change applied: none for a
// request that fails or only reads.
func TestAPI(t *testing.T) {
	tooLarge := strings.Repeat("v", coffer.DefaultMaxValueBytes+1)
	longDescription := strings.Repeat("d", coffer.MaxDescriptionChars+1)
	devDB := secretObj("development", "DATABASE_URL", "Primary database", "connection_string", "seed", "seed", 1)
	prodStripe := secretObj("production", "STRIPE_API_KEY", "Payments", "api_key", "seed", "seed", 1)
	notFound := func(key, env, hint string) obj {
		return errorBody(problem("key", "not_found", `Secret not found: "`+key+`" in project "default", environment "`+env+`"`+hint))
	}
	badEnv := obj{
		"code": "invalid_environment", "message": `Unknown environment "qa"; this server serves [development staging production]`,
		"errors": arr{problem("env", "invalid_environment", `Unknown environment "qa"`)},
	}
	noChanges := errorBody(problem("", "no_changes", "No changes to save"))
	bodyTooLarge := errorBody(problem("", "body_too_large", "The request body is larger than 131072 bytes"))
	notJSON := errorBody(problem("", "invalid_json", "The request body is not a valid JSON object"))
	mediaType := errorBody(problem("", "unsupported_media_type", "Send the request body as application/json"))

	// add, edit and remove describe what a successful request does to the
	// store; the test applies it to the state before and compares the
	// whole store with the result.
	add := func(env, key, value, description string, typ coffer.Type) storeChange {
		return func(st map[string][]storedSecret) {
			st[env] = append(st[env], storedSecret{Value: value, Secret: coffer.Secret{
				Key: key, Description: description, Type: typ, Project: "default", Environment: env,
				CreatedAt: fixedNow, UpdatedAt: fixedNow, RotatedAt: fixedNow,
				CreatedBy: "admin", UpdatedBy: "admin", Version: 1,
			}})
			sort.Slice(st[env], func(i, j int) bool { return st[env][i].Secret.Key < st[env][j].Secret.Key })
		}
	}
	edit := func(env, key string, f func(*storedSecret)) storeChange {
		return func(st map[string][]storedSecret) {
			for i := range st[env] {
				if st[env][i].Secret.Key == key {
					st[env][i].Secret.UpdatedBy = "admin"
					f(&st[env][i])
					return
				}
			}
			t.Fatalf("the expected change edits %s in %s, which the store does not hold", key, env)
		}
	}
	remove := func(env, key string) storeChange {
		return func(st map[string][]storedSecret) {
			st[env] = slices.DeleteFunc(st[env], func(s storedSecret) bool { return s.Secret.Key == key })
			if len(st[env]) == 0 {
				delete(st, env) // state lists only environments holding secrets
			}
		}
	}

	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   any               // nil: no body
		wantHeader map[string]string // headers that must be set exactly
		// change is what the request does to the store; nil means it
		// must change nothing stored.
		change storeChange
	}{
		// GET /api/secrets
		{name: "list the default environment", req: request("GET", "/api/secrets", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "development", "secrets": arr{devDB}}},
		{name: "list development", req: request("GET", "/api/secrets?env=development", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "development", "secrets": arr{devDB}}},
		{name: "list production", req: request("GET", "/api/secrets?env=production", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "production", "secrets": arr{prodStripe}}},
		{name: "list an empty environment", req: request("GET", "/api/secrets?env=staging", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "staging", "secrets": arr{}}},
		{name: "list an unknown environment", req: request("GET", "/api/secrets?env=qa", "", bearer),
			wantStatus: 400, wantBody: badEnv},

		// GET /api/keys
		{name: "keys of the default environment", req: request("GET", "/api/keys", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "development", "keys": arr{"DATABASE_URL"}}},
		{name: "keys of production", req: request("GET", "/api/keys?env=production", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "production", "keys": arr{"STRIPE_API_KEY"}}},
		{name: "keys of an empty environment", req: request("GET", "/api/keys?env=staging", "", bearer),
			wantStatus: 200, wantBody: obj{"environment": "staging", "keys": arr{}}},
		{name: "keys of an unknown environment", req: request("GET", "/api/keys?env=qa", "", bearer),
			wantStatus: 400, wantBody: badEnv},
		{name: "POST to the keys is not allowed", req: request("POST", "/api/keys", `{"key":"K","value":"v"}`, bearer),
			wantStatus: 405, wantBody: errorBody(problem("", "method_not_allowed", "Method not allowed; use GET, HEAD")),
			wantHeader: map[string]string{"Allow": "GET, HEAD"}},

		// GET /api/secrets/{key}
		{name: "get", req: request("GET", "/api/secrets/DATABASE_URL?env=development", "", bearer),
			wantStatus: 200, wantBody: devDB},
		{name: "get a missing key", req: request("GET", "/api/secrets/NOPE", "", bearer),
			wantStatus: 404, wantBody: notFound("NOPE", "development", "")},
		{name: "get suggests the key differing in case", req: request("GET", "/api/secrets/database_url", "", bearer),
			wantStatus: 404, wantBody: notFound("database_url", "development", "; did you mean DATABASE_URL?")},
		{name: "get is scoped by environment", req: request("GET", "/api/secrets/STRIPE_API_KEY?env=development", "", bearer),
			wantStatus: 404, wantBody: notFound("STRIPE_API_KEY", "development", "")},
		{name: "get an invalid key", req: request("GET", "/api/secrets/bad-key", "", bearer),
			wantStatus: 422, wantBody: errorBody(problem("key", "invalid_key", `Invalid secret key: character '-' at position 4 is not allowed; use letters, digits and underscores`))},
		{name: "get in an unknown environment", req: request("GET", "/api/secrets/DATABASE_URL?env=qa", "", bearer),
			wantStatus: 400, wantBody: badEnv},

		// POST /api/secrets
		{name: "create", req: request("POST", "/api/secrets?env=staging", `{"key":"SESSION_TOKEN","value":"tok-123","description":"Sessions"}`, bearer),
			wantStatus: 201, wantBody: secretObj("staging", "SESSION_TOKEN", "Sessions", "token", "admin", "admin", 1),
			wantHeader: map[string]string{"Location": "/api/secrets/SESSION_TOKEN?env=staging"},
			change:     add("staging", "SESSION_TOKEN", "tok-123", "Sessions", coffer.TypeToken)},
		{name: "create with a type", req: request("POST", "/api/secrets", `{"key":"ADMIN_PIN","value":"4711","type":"password"}`, bearer),
			wantStatus: 201, wantBody: secretObj("development", "ADMIN_PIN", "", "password", "admin", "admin", 1),
			change: add("development", "ADMIN_PIN", "4711", "", coffer.TypePassword)},
		{name: "create the same key in another environment", req: request("POST", "/api/secrets?env=production", `{"key":"DATABASE_URL","value":"postgres://prod-db/app"}`, bearer),
			wantStatus: 201, wantBody: secretObj("production", "DATABASE_URL", "", "connection_string", "admin", "admin", 1),
			change: add("production", "DATABASE_URL", "postgres://prod-db/app", "", coffer.TypeConnectionString)},
		{name: "create with neither key nor value", req: request("POST", "/api/secrets", `{"key":"","value":"","description":"x"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("key", "key_required", "Secret key is required"), problem("value", "value_required", "Secret value is required"))},
		{name: "create from an empty object", req: request("POST", "/api/secrets", `{}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("key", "key_required", "Secret key is required"), problem("value", "value_required", "Secret value is required"))},
		{name: "create without a value", req: request("POST", "/api/secrets", `{"key":"API_TOKEN"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("value", "value_required", "Secret value is required"))},
		{name: "create with a bad key", req: request("POST", "/api/secrets", `{"key":"STRIPE-KEY","value":"v"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("key", "invalid_key", `Invalid secret key: character '-' at position 7 is not allowed; use letters, digits and underscores`))},
		{name: "create with a key starting with a digit", req: request("POST", "/api/secrets", `{"key":"1KEY","value":"v"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("key", "invalid_key", `Invalid secret key: "1KEY" starts with a digit ('1'); start with a letter or underscore`))},
		{name: "create with a value too large", req: request("POST", "/api/secrets", `{"key":"BIG","value":"`+tooLarge+`"}`, bearer),
			wantStatus: 413, wantBody: errorBody(problem("value", "value_too_large", "Secret value is too large: value is 65537 bytes, the limit is 65536"))},
		{name: "create with a bad key and a value too large", req: request("POST", "/api/secrets", `{"key":"a b","value":"`+tooLarge+`"}`, bearer),
			wantStatus: 422, wantBody: errorBody(
				problem("key", "invalid_key", `Invalid secret key: character ' ' at position 2 is not allowed; use letters, digits and underscores`),
				problem("value", "value_too_large", "Secret value is too large: value is 65537 bytes, the limit is 65536"))},
		{name: "create with a NUL byte in the value", req: request("POST", "/api/secrets", `{"key":"K","value":"a\u0000b"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("value", "invalid_value", "Invalid secret value: value holds a NUL byte at byte 2 (counting from 1), which an environment variable cannot carry"))},
		{name: "create with a description too long", req: request("POST", "/api/secrets", `{"key":"K","value":"v","description":"`+longDescription+`"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("description", "description_too_long", "Description is too long: description is 1025 characters, the limit is 1024"))},
		{name: "create with a bad type", req: request("POST", "/api/secrets", `{"key":"K","value":"v","type":"Password"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("type", "invalid_type", `Invalid secret type: "Password" is not a lower-case identifier (letters a-z, digits, underscores; not starting with a digit)`))},
		{name: "create a duplicate", req: request("POST", "/api/secrets?env=development", `{"key":"DATABASE_URL","value":"other"}`, bearer),
			wantStatus: 409, wantBody: errorBody(problem("key", "already_exists", `Secret already exists: "DATABASE_URL" in project "default", environment "development"`))},
		{name: "create in an unknown environment", req: request("POST", "/api/secrets?env=qa", `{"key":"K","value":"v"}`, bearer),
			wantStatus: 400, wantBody: badEnv},
		{name: "create from malformed JSON", req: request("POST", "/api/secrets", `{"key":"K","value":`, bearer),
			wantStatus: 400, wantBody: notJSON},
		{name: "create from a JSON array", req: request("POST", "/api/secrets", `["K","v"]`, bearer),
			wantStatus: 400, wantBody: notJSON},
		{name: "create with data after the object", req: request("POST", "/api/secrets", `{"key":"K","value":"v"} {}`, bearer),
			wantStatus: 400, wantBody: notJSON},
		{name: "create with an unknown field", req: request("POST", "/api/secrets", `{"key":"K","value":"v","secret":"x"}`, bearer),
			wantStatus: 400, wantBody: errorBody(problem("", "unknown_field", `The request body has a field this endpoint does not take; it takes "key", "value", "generate", "description" and "type"`))},
		{name: "create with a number as value", req: request("POST", "/api/secrets", `{"key":"K","value":42}`, bearer),
			wantStatus: 400, wantBody: obj{"code": "invalid_json", "message": `Field "value" must be a string`, "errors": arr{problem("value", "invalid_json", "Must be a string")}}},
		{name: "create without a content type", req: request("POST", "/api/secrets", `{"key":"K","value":"v"}`, bearer, "Content-Type:"),
			wantStatus: 415, wantBody: mediaType},
		{name: "create from a form", req: request("POST", "/api/secrets", `key=K&value=v`, bearer, "Content-Type: application/x-www-form-urlencoded"),
			wantStatus: 415, wantBody: mediaType},
		{name: "create with a body over the limit", req: request("POST", "/api/secrets", `{"key":"K","value":"`+strings.Repeat("v", DefaultMaxBodyBytes)+`"}`, bearer),
			wantStatus: 413, wantBody: bodyTooLarge},

		// PATCH /api/secrets/{key}
		{name: "update the value", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"postgres://new-db/app"}`, bearer),
			wantStatus: 200, wantBody: secretObj("development", "DATABASE_URL", "Primary database", "connection_string", "seed", "admin", 2),
			change: edit("development", "DATABASE_URL", func(s *storedSecret) { s.Value, s.Secret.Version = "postgres://new-db/app", 2 })},
		{name: "update the description, keeping the value", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"","description":"Read-write database"}`, bearer),
			wantStatus: 200, wantBody: secretObj("development", "DATABASE_URL", "Read-write database", "connection_string", "seed", "admin", 1),
			change: edit("development", "DATABASE_URL", func(s *storedSecret) { s.Secret.Description = "Read-write database" })},
		{name: "clear the description", req: request("PATCH", "/api/secrets/STRIPE_API_KEY?env=production", `{"description":""}`, bearer),
			wantStatus: 200, wantBody: secretObj("production", "STRIPE_API_KEY", "", "api_key", "seed", "admin", 1),
			change: edit("production", "STRIPE_API_KEY", func(s *storedSecret) { s.Secret.Description = "" })},
		{name: "update with nothing", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"","description":null}`, bearer),
			wantStatus: 422, wantBody: noChanges},
		{name: "update from an empty object", req: request("PATCH", "/api/secrets/DATABASE_URL", `{}`, bearer),
			wantStatus: 422, wantBody: noChanges},
		{name: "update with the same description", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"description":"Primary database"}`, bearer),
			wantStatus: 422, wantBody: noChanges},
		{name: "update a missing key", req: request("PATCH", "/api/secrets/NOPE", `{"value":"v"}`, bearer),
			wantStatus: 404, wantBody: notFound("NOPE", "development", "")},
		{name: "update with a value too large", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"`+tooLarge+`"}`, bearer),
			wantStatus: 413, wantBody: errorBody(problem("value", "value_too_large", "Secret value is too large: value is 65537 bytes, the limit is 65536"))},
		{name: "update with a description too long", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"description":"`+longDescription+`"}`, bearer),
			wantStatus: 422, wantBody: errorBody(problem("description", "description_too_long", "Description is too long: description is 1025 characters, the limit is 1024"))},
		{name: "update cannot rename", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"key":"DB_URL"}`, bearer),
			wantStatus: 400, wantBody: errorBody(problem("", "unknown_field", `The request body has a field this endpoint does not take; it takes "value", "generate", "description" and "if_version"`))},
		{name: "update from malformed JSON", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"value"`, bearer),
			wantStatus: 400, wantBody: notJSON},
		{name: "update with a body over the limit", req: request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"`+strings.Repeat("v", DefaultMaxBodyBytes)+`"}`, bearer),
			wantStatus: 413, wantBody: bodyTooLarge},

		// DELETE /api/secrets/{key}
		{name: "delete", req: request("DELETE", "/api/secrets/STRIPE_API_KEY?env=production", "", bearer),
			wantStatus: 204, change: remove("production", "STRIPE_API_KEY")},
		{name: "delete a missing key", req: request("DELETE", "/api/secrets/NOPE", "", bearer),
			wantStatus: 404, wantBody: notFound("NOPE", "development", "")},
		{name: "delete is scoped by environment", req: request("DELETE", "/api/secrets/STRIPE_API_KEY?env=staging", "", bearer),
			wantStatus: 404, wantBody: notFound("STRIPE_API_KEY", "staging", "")},
		{name: "delete an invalid key", req: request("DELETE", "/api/secrets/a.b", "", bearer),
			wantStatus: 422, wantBody: errorBody(problem("key", "invalid_key", `Invalid secret key: character '.' at position 2 is not allowed; use letters, digits and underscores`))},

		// Routing.
		{name: "PUT is not allowed", req: request("PUT", "/api/secrets/DATABASE_URL", `{"value":"v"}`, bearer),
			wantStatus: 405, wantBody: errorBody(problem("", "method_not_allowed", "Method not allowed; use GET, HEAD, PATCH, DELETE")),
			wantHeader: map[string]string{"Allow": "GET, HEAD, PATCH, DELETE"}},
		{name: "DELETE on the collection is not allowed", req: request("DELETE", "/api/secrets", "", bearer),
			wantStatus: 405, wantBody: errorBody(problem("", "method_not_allowed", "Method not allowed; use GET, HEAD, POST")),
			wantHeader: map[string]string{"Allow": "GET, HEAD, POST"}},
		{name: "an unknown endpoint", req: request("GET", "/api/names", "", bearer),
			wantStatus: 404, wantBody: errorBody(problem("", "route_not_found", "No such API endpoint"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			seedAll(f)
			before := f.state()

			w := f.serve(tt.req)

			if w.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if diff := cmp.Diff(tt.wantBody, decode(t, w.Body.Bytes())); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s", diff)
			}
			if tt.wantBody != nil {
				if got := w.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
			}
			for name, want := range tt.wantHeader {
				if got := w.Header().Get(name); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
			want := map[string][]storedSecret{}
			for env, list := range before {
				want[env] = slices.Clone(list)
			}
			if tt.change != nil {
				tt.change(want)
			}
			if diff := cmp.Diff(want, f.state()); diff != "" {
				t.Errorf("the store after the request (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuditActor checks that the audit events name the principal, for
// bearer and session requests, and that stored records say who changed
// them: the token's name.
func TestAuditActor(t *testing.T) {
	f := newFixture(t)
	if w := f.serve(request("POST", "/api/secrets", `{"key":"A_KEY","value":"v1"}`, editor)); w.Code != 201 {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	s := f.signIn()
	if w := f.serve(s.req("PATCH", "/api/secrets/A_KEY", `{"description":"via the page"}`)); w.Code != 200 {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	if w := f.serve(request("GET", "/api/secrets/A_KEY/value", "", reader)); w.Code != 200 {
		t.Fatalf("value: %d %s", w.Code, w.Body)
	}
	var events []string
	for _, e := range auditEvents(t, f.audit.String()) {
		events = append(events, fmt.Sprintf("%v %v %v", e["msg"], e["actor"], e["outcome"]))
	}
	want := []string{
		"coffer.create ed ok",
		"cofferhttp.sign_in admin ok",
		"coffer.keys cofferhttp ok", // the sign-out list, read for the session's first request
		"coffer.update admin ok",
		"coffer.reveal ci-deploy ok",
	}
	if diff := cmp.Diff(want, events); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
	got, err := f.env("development").Get(context.Background(), "A_KEY")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedBy != "ed" || got.UpdatedBy != "admin" {
		t.Errorf("CreatedBy, UpdatedBy = %q, %q; want ed, admin", got.CreatedBy, got.UpdatedBy)
	}
}

// TestServerErrors covers the answers that do not come from a request's
// content: a closed Manager (503) and a store the keeper cannot unlock
// (500, with details only in the server log).
func TestServerErrors(t *testing.T) {
	t.Run("closed manager", func(t *testing.T) {
		f := newFixture(t)
		if err := f.m.Close(); err != nil {
			t.Fatal(err)
		}
		w := f.serve(request("GET", "/api/secrets", "", bearer))
		want := errorBody(problem("", "closed", "The server is shutting down"))
		if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != 503 || diff != "" {
			t.Errorf("status %d, want 503; body (-want +got):\n%s", w.Code, diff)
		}
	})
	t.Run("client gone", func(t *testing.T) {
		// net/http cancels a request's context when its client closes the
		// connection: the Manager's context error is the client's doing,
		// so the server logs no failure and the request log says 499.
		f := newFixture(t)
		f.seed("production", "K", "CANARY-client-gone", "")
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := request("PATCH", "/api/secrets/K?env=production", `{"description":"d"}`, bearer).WithContext(ctx)
		w := f.serve(r)
		if w.Code != statusClientClosed {
			t.Errorf("status %d, want %d", w.Code, statusClientClosed)
		}
		logged := f.log.String()
		if strings.Contains(logged, `"level":"ERROR"`) || !strings.Contains(logged, `"status":499`) {
			t.Errorf("want no error and status 499 in the request log:\n%s", logged)
		}
		if got := f.state()["production"]; len(got) != 1 || got[0].Secret.Description != "" || got[0].Secret.Version != 1 {
			t.Errorf("a canceled update changed the store: %+v", got)
		}
	})
	t.Run("wrong keeper", func(t *testing.T) {
		ctx := context.Background()
		// The collection's keyring is sealed under one key; the served
		// Manager holds another, so sealing fails in a way no sentinel names.
		first, err := coffer.Open(ctx, "mem://server-errors", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		if _, err := first.Create(ctx, coffer.NewSecret{Key: "K", Value: "v"}); err != nil {
			t.Fatal(err)
		}
		other, err := coffer.Open(ctx, "mem://server-errors", "base64key://AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		log := &syncBuffer{}
		h, err := NewHandler(other, &Options{Tokens: testTokens, Log: slog.New(slog.NewJSONHandler(log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, request("POST", "/api/secrets", `{"key":"NEW","value":"CANARY-server-error"}`, bearer))
		want := errorBody(problem("", "internal", "Internal server error"))
		if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != 500 || diff != "" {
			t.Errorf("status %d, want 500; body (-want +got):\n%s", w.Code, diff)
		}
		if !strings.Contains(log.String(), `"msg":"coffer operation failed"`) || strings.Contains(log.String(), "CANARY-") {
			t.Errorf("the server log should explain the failure without the value:\n%s", log)
		}
	})
}
