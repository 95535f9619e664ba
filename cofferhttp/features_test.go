package cofferhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// extraMatrixEndpoints are the matrix's endpoints of the versions and check
// APIs.
func extraMatrixEndpoints(q func(string) func(string) string) []matrixEndpoint {
	return []matrixEndpoint{
		{"check", "metadata", "GET", q("/api/check"), "", 200},
		{"versions", "metadata", "GET", q("/api/secrets/DATABASE_URL/versions"), "", 200},
		{"rollback", "write", "POST", q("/api/secrets/DATABASE_URL/rollback"), `{"version":1}`, 200},
		{"update if_version", "write", "PATCH", q("/api/secrets/DATABASE_URL"), `{"value":"cas-value","if_version":2}`, 200},
		{"create generated", "write", "POST", q("/api/secrets"), `{"key":"GENERATED_KEY","generate":32}`, 201},
		{"update generated", "write", "PATCH", q("/api/secrets/DATABASE_URL"), `{"generate":32}`, 200},
	}
}

// seedExtra prepares what extraMatrixEndpoints need: DATABASE_URL at
// version 2 in every environment, so version 1 can be restored.
func seedExtra(t *testing.T, f *fixture) {
	for _, env := range testEnvironments {
		if _, err := f.env(env).Update(coffer.WithActor(context.Background(), "seed"), "DATABASE_URL", coffer.Change{Value: coffer.Value("postgres://" + env + "-db/app2")}); err != nil {
			t.Fatal(err)
		}
	}
}

// extraCanaryRequests are the canary requests of the versions and check APIs.
func extraCanaryRequests(canary string, s pageSession) []*http.Request {
	return []*http.Request{
		request("POST", "/api/secrets?env=staging", `{"key":"CANARY_KEY","value":"`+canary+`"}`, bearer), // shared with development
		request("POST", "/api/secrets?env=production", `{"key":"CANARY_WEAK_PASSWORD","value":"CANARY-1"}`, bearer),
		request("GET", "/api/check", "", viewer),
		request("GET", "/api/check?env=production", "", bearer),
		request("GET", "/api/check", "", reader), // forbidden
		request("POST", "/api/secrets", `{"key":"GEN","generate":32,"value":"`+canary+`"}`, bearer),
		request("POST", "/api/secrets", `{"key":"GEN","generate":8}`, bearer),
		request("POST", "/api/secrets", `{"key":"GEN","generate":32}`, bearer),
		request("PATCH", "/api/secrets/GEN", `{"generate":32}`, editor),
		s.req("PATCH", "/api/secrets/GEN", `{"generate":1025}`),
		request("GET", "/api/secrets/CANARY_KEY/versions", "", viewer),
		request("POST", "/api/secrets/CANARY_KEY/rollback", `{"version":1}`, editor),
		request("POST", "/api/secrets/CANARY_KEY/rollback", `{"version":99}`, editor),
		request("POST", "/api/secrets/CANARY_KEY/rollback", `{"version":1,"value":"`+canary+`"}`, editor),
		request("PATCH", "/api/secrets/CANARY_KEY", `{"value":"`+canary+`-5","if_version":1}`, editor), // stale
		request("PATCH", "/api/secrets/CANARY_KEY", `{"value":"`+canary+`-6","if_version":-1}`, editor),
		request("GET", "/api/secrets/CANARY_KEY/versions", "", reader), // forbidden
	}
}

// TestCheck checks GET /api/check against the library's own Check: across
// every environment the principal may read, or one with ?env=; only for
// roles that may read metadata.
func TestCheck(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Tokens = append(testTokens[:len(testTokens):len(testTokens)], Token{Name: "stg", Secret: "staging-viewer-0123456789", Role: RoleViewer, Environments: []string{"staging", "production"}})
	})
	seedAll(f)
	f.seed("production", "DATABASE_URL", "postgres://dev-db/app", "Primary database") // shared with development
	f.seed("staging", "session_token", "abc", "")                                     // naming, weak, no description

	library := func(envs ...string) any {
		findings, err := f.env(envs[0]).Check(context.Background(), &coffer.CheckOptions{Environments: envs})
		if err != nil {
			t.Fatal(err)
		}
		list := arr{}
		for _, x := range findings {
			o := obj{"kind": string(x.Kind), "environment": x.Environment, "message": x.Message}
			if x.Key != "" {
				o["key"] = x.Key
			}
			list = append(list, o)
		}
		envList := arr{}
		for _, e := range envs {
			envList = append(envList, e)
		}
		return obj{"environments": envList, "findings": list}
	}
	tests := []struct {
		name, target, header string
		want                 any
	}{
		{"every environment", "/api/check", viewer, library("development", "staging", "production")},
		{"one environment", "/api/check?env=production", bearer, library("production")},
		{"a token's environments", "/api/check", "Authorization: Bearer staging-viewer-0123456789", library("staging", "production")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.serve(request("GET", tt.target, "", tt.header))
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			got := decode(t, w.Body.Bytes())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if len(got.(obj)["findings"].(arr)) == 0 {
				t.Error("no findings: the comparison proves nothing")
			}
		})
	}
	for _, forbidden := range []struct{ target, header string }{
		{"/api/check", reader},
		{"/api/check?env=development", "Authorization: Bearer staging-viewer-0123456789"},
	} {
		if w := f.serve(request("GET", forbidden.target, "", forbidden.header)); w.Code != http.StatusForbidden {
			t.Errorf("GET %s: %d, want 403", forbidden.target, w.Code)
		}
	}
	if w := f.serve(request("POST", "/api/check", "", bearer)); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /api/check: %d, want 405", w.Code)
	}
	if !strings.Contains(f.audit.String(), `"msg":"coffer.check"`) {
		t.Error("Check is not audited")
	}
}

// TestGenerate checks "generate" in the add and edit bodies: the server
// stores a strong random value that no answer holds; sizes out of range
// and a value sent with generate are refused, storing nothing.
func TestGenerate(t *testing.T) {
	f := newFixture(t)
	seedAll(f)
	generated := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	reveal := func(key string) string {
		v, err := f.env("development").Reveal(context.Background(), key)
		if err != nil {
			t.Fatal(err)
		}
		return string(v)
	}

	w := f.serve(request("POST", "/api/secrets", `{"key":"WEBHOOK_TOKEN","generate":32,"description":"Webhook"}`, editor))
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	first := reveal("WEBHOOK_TOKEN")
	if !generated.MatchString(first) {
		t.Errorf("the generated value is %d characters, not 32 bytes in base64url", len(first))
	}
	if strings.Contains(w.Body.String(), first) {
		t.Error("the create answer holds the generated value")
	}
	w = f.serve(request("PATCH", "/api/secrets/WEBHOOK_TOKEN", `{"generate":32}`, editor))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"version":2`) {
		t.Fatalf("update: %d %s", w.Code, w.Body)
	}
	second := reveal("WEBHOOK_TOKEN")
	if !generated.MatchString(second) || second == first || strings.Contains(w.Body.String(), second) {
		t.Errorf("the regenerated value is not a fresh one kept out of the answer")
	}

	before := f.state()
	bad := []struct {
		name, method, target, body string
		status                     int
		want                       any
	}{
		{"value and generate", "POST", "/api/secrets", `{"key":"K","value":"v","generate":32}`, 422,
			errorBody(problem("value", "invalid_value", "Invalid secret value: send either a value or generate, not both"))},
		{"too few bytes", "POST", "/api/secrets", `{"key":"K","generate":8}`, 422,
			errorBody(problem("generate", "invalid_options", "Invalid options: Generate takes 16 to 1024 bytes, not 8"))},
		{"too many bytes", "PATCH", "/api/secrets/DATABASE_URL", `{"generate":1025}`, 422,
			errorBody(problem("generate", "invalid_options", "Invalid options: Generate takes 16 to 1024 bytes, not 1025"))},
		{"not a number", "POST", "/api/secrets", `{"key":"K","generate":"32"}`, 400,
			obj{"code": "invalid_json", "message": `Field "generate" must be a whole number`, "errors": arr{problem("generate", "invalid_json", "Must be a whole number")}}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			w := f.serve(request(tt.method, tt.target, tt.body, bearer))
			if diff := cmp.Diff(tt.want, decode(t, w.Body.Bytes())); w.Code != tt.status || diff != "" {
				t.Errorf("status %d, want %d; body (-want +got):\n%s", w.Code, tt.status, diff)
			}
		})
	}
	if diff := cmp.Diff(before, f.state()); diff != "" {
		t.Errorf("a refused generate changed the store:\n%s", diff)
	}
	var s sessionResponse
	_ = json.Unmarshal(f.serve(request("GET", "/api/session", "", bearer)).Body.Bytes(), &s)
	if !s.Features.Generate || !s.Features.Check {
		t.Errorf("features = %+v; want generate and check", s.Features)
	}
}

// TestCheckNoServedEnvironment: a principal whose environments are none of
// the served ones is refused, not answered with a server error.
func TestCheckNoServedEnvironment(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Authenticate = func(*http.Request) (*Principal, error) {
			return &Principal{Name: "elsewhere", Role: RoleViewer, Environments: []string{"qa"}}, nil
		}
	})
	if w := f.serve(request("GET", "/api/check", "")); w.Code != http.StatusForbidden {
		t.Errorf("status %d, want 403: %s", w.Code, w.Body)
	}
}
