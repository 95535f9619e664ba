package cofferhttp

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// designTable is the role table of DESIGN.md, written out independently of
// the package's own: the columns are metadata reads (list, get, versions,
// check), writes (create, update, delete, rollback) and value reads (value,
// environ).
var designTable = map[Role]map[string]bool{
	RoleViewer: {"metadata": true},
	RoleEditor: {"metadata": true, "write": true},
	RoleReader: {"reveal": true},
	RoleAdmin:  {"metadata": true, "write": true, "reveal": true},
}

// matrixEndpoint is one endpoint of the matrix, in environment env.
type matrixEndpoint struct {
	name   string
	column string // the role table's column; "admin" for the Access panel
	method string
	target func(env string) string
	body   string
	status int // on success
}

func matrixEndpoints() []matrixEndpoint {
	q := func(path string) func(string) string {
		return func(env string) string {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			return path + sep + "env=" + env
		}
	}
	eps := []matrixEndpoint{
		{"list", "metadata", "GET", q("/api/secrets"), "", 200},
		{"keys", "metadata", "GET", q("/api/keys"), "", 200},
		{"get", "metadata", "GET", q("/api/secrets/DATABASE_URL"), "", 200},
		{"create", "write", "POST", q("/api/secrets"), `{"key":"NEW_KEY","value":"new-value"}`, 201},
		{"update", "write", "PATCH", q("/api/secrets/DATABASE_URL"), `{"value":"changed-value"}`, 200},
		{"delete", "write", "DELETE", q("/api/secrets/DATABASE_URL"), "", 204},
		{"value", "reveal", "GET", q("/api/secrets/DATABASE_URL/value"), "", 200},
		{"environ", "reveal", "GET", q("/api/environ"), "", 200},
		{"environ json", "reveal", "GET", q("/api/environ?format=json"), "", 200},
		{"access", "admin", "GET", q("/api/access"), "", 200},
	}
	return append(eps, extraMatrixEndpoints(q)...)
}

// matrixToken is a token of the matrix: each role with every environment,
// and each role with staging only.
type matrixToken struct {
	Token
	header string
}

func matrixTokens() []matrixToken {
	var out []matrixToken
	for i, role := range []Role{RoleViewer, RoleEditor, RoleReader, RoleAdmin} {
		for j, envs := range [][]string{nil, {"staging"}} {
			name := string(role) + "-all"
			if envs != nil {
				name = string(role) + "-staging"
			}
			secret := fmt.Sprintf("matrix-token-%d-%d-0123456789abcdef", i, j)
			out = append(out, matrixToken{Token{Name: name, Secret: secret, Role: role, Environments: envs}, "Authorization: Bearer " + secret})
		}
	}
	return out
}

// TestRoleMatrix sends every endpoint, in every environment, with every
// role's token, scoped to every environment or to staging only, both as a
// bearer token and through a page session. What the role table and the
// token's environments allow succeeds and does what it says; everything
// else answers 403 forbidden, is audited, and changes nothing stored.
func TestRoleMatrix(t *testing.T) {
	tokens := matrixTokens()
	var all []Token
	for _, mt := range tokens {
		all = append(all, mt.Token)
	}
	for _, mt := range tokens {
		for _, via := range []string{"token", "session"} {
			for _, ep := range matrixEndpoints() {
				for _, env := range testEnvironments {
					name := fmt.Sprintf("%s/%s/%s/%s", mt.Name, via, ep.name, env)
					t.Run(name, func(t *testing.T) {
						f := newFixture(t, func(o *Options) { o.Tokens = all })
						for _, e := range testEnvironments {
							f.seed(e, "DATABASE_URL", "postgres://"+e+"-db/app", "Primary database")
						}
						seedExtra(t, f)
						before := f.state()
						var r *http.Request
						if via == "token" {
							r = request(ep.method, ep.target(env), ep.body, mt.header)
						} else {
							r = f.signInWith(mt.Secret).req(ep.method, ep.target(env), ep.body)
						}
						w := f.serve(r)

						allowed := designTable[mt.Role][ep.column] && (mt.Environments == nil || slices.Contains(mt.Environments, env))
						if ep.column == "admin" {
							allowed = mt.Role == RoleAdmin
						}
						if !allowed {
							if w.Code != http.StatusForbidden {
								t.Fatalf("status = %d, want 403; body %s", w.Code, w.Body)
							}
							if got := decode(t, w.Body.Bytes()).(map[string]any)["code"]; got != "forbidden" {
								t.Errorf("code = %v, want forbidden", got)
							}
							if diff := cmp.Diff(before, f.state()); diff != "" {
								t.Errorf("a forbidden request changed the store (-before +after):\n%s", diff)
							}
							if !strings.Contains(f.audit.String(), `"msg":"cofferhttp.forbidden"`) ||
								!strings.Contains(f.audit.String(), `"actor":"`+mt.Name+`"`) {
								t.Errorf("no forbidden audit event naming %s:\n%s", mt.Name, f.audit)
							}
							return
						}
						if w.Code != ep.status {
							t.Fatalf("status = %d, want %d; body %s", w.Code, ep.status, w.Body)
						}
						changed := cmp.Diff(before, f.state()) != ""
						if wantChange := ep.column == "write"; changed != wantChange {
							t.Errorf("the store changed: %v, want %v", changed, wantChange)
						}
						if strings.Contains(f.audit.String(), "cofferhttp.forbidden") {
							t.Errorf("an allowed request was audited as forbidden:\n%s", f.audit)
						}
					})
				}
			}
		}
	}
}

// TestAccessPanel checks GET /api/access: admins see every token's name,
// role and environments, never a secret; other roles get 403.
func TestAccessPanel(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Tokens = append(slices.Clone(testTokens), Token{Name: "stg-reader", Secret: "stg-reader-token-0123456789", Role: RoleReader, Environments: []string{"staging"}})
	})
	w := f.serve(request("GET", "/api/access", "", bearer))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	all := arr{"development", "staging", "production"}
	entry := func(name, role string, envs arr, every bool) obj {
		return obj{"name": name, "role": role, "environments": envs, "all_environments": every}
	}
	want := obj{
		"tokens": arr{
			entry("admin", "admin", all, true),
			entry("vera", "viewer", all, true),
			entry("ed", "editor", all, true),
			entry("ci-deploy", "reader", all, true),
			entry("stg-reader", "reader", arr{"staging"}, false),
		},
		"authenticator": false,
		"roles": arr{
			obj{"role": "viewer", "can": arr{"list and read metadata, history and health"}},
			obj{"role": "editor", "can": arr{"list and read metadata, history and health", "create, edit, delete and restore secrets"}},
			obj{"role": "reader", "can": arr{"read values and whole environments (programs)"}},
			obj{"role": "admin", "can": arr{"everything, including values and this panel"}},
		},
	}
	if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); diff != "" {
		t.Errorf("access (-want +got):\n%s", diff)
	}
	for _, secret := range []string{testToken, viewerToken, editorToken, readerToken, "stg-reader-token-0123456789"} {
		if strings.Contains(w.Body.String(), secret) {
			t.Errorf("the Access panel shows a token's secret")
		}
	}
	for _, h := range []string{viewer, editor, reader} {
		if w := f.serve(request("GET", "/api/access", "", h)); w.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", h[:30], w.Code)
		}
	}
}

// TestSessionEnvironments checks that GET /api/session lists only the
// environments the principal may use, and its permissions.
func TestSessionEnvironments(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Tokens = []Token{{Name: "r", Secret: readerToken, Role: RoleReader, Environments: []string{"production", "staging"}}}
	})
	w := f.serve(request("GET", "/api/session", "", reader))
	want := obj{
		"actor": "r", "role": "reader", "via": "token",
		"environments": arr{"staging", "production"}, "default_environment": "staging",
		"can":      obj{"read": false, "write": false, "reveal": true, "admin": false},
		"features": wantFeatures(),
	}
	if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != 200 || diff != "" {
		t.Errorf("status %d; session (-want +got):\n%s", w.Code, diff)
	}
}

// TestDefaultEnvironment checks that a request without ?env= goes to the
// first served environment the token may use.
func TestDefaultEnvironment(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		o.Tokens = []Token{
			{Name: "prod-reader", Secret: readerToken, Role: RoleReader, Environments: []string{"production"}},
			{Name: "all", Secret: viewerToken, Role: RoleViewer},
		}
	})
	seedAll(f)
	if w := f.serve(request("GET", "/api/secrets/STRIPE_API_KEY/value", "", reader)); w.Code != 200 {
		t.Errorf("a production reader without ?env=: %d %s; want production's value", w.Code, w.Body)
	}
	if w := f.serve(request("GET", "/api/secrets", "", viewer)); w.Code != 200 || !strings.Contains(w.Body.String(), `"environment":"development"`) {
		t.Errorf("a token of every environment without ?env=: %d %s; want development", w.Code, w.Body)
	}
}
