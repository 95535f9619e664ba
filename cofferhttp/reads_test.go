package cofferhttp

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// TestValue checks GET /api/secrets/{key}/value: the current value and its
// version, never cached, audited as a reveal by the reader.
func TestValue(t *testing.T) {
	f := newFixture(t)
	seedAll(f)
	w := f.serve(request("GET", "/api/secrets/STRIPE_API_KEY/value?env=production", "", reader))
	if diff := cmp.Diff(any(obj{"key": "STRIPE_API_KEY", "version": json.Number("1"), "value": "sk_live_51H"}), decode(t, w.Body.Bytes())); w.Code != 200 || diff != "" {
		t.Errorf("status %d; value (-want +got):\n%s", w.Code, diff)
	}
	for name, want := range map[string]string{"Cache-Control": "no-store", "Content-Type": "application/json; charset=utf-8"} {
		if got := w.Header().Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if _, err := f.env("production").Update(context.Background(), "STRIPE_API_KEY", coffer.Change{Value: "sk_live_rotated"}); err != nil {
		t.Fatal(err)
	}
	w = f.serve(request("GET", "/api/secrets/STRIPE_API_KEY/value?env=production", "", reader))
	if diff := cmp.Diff(any(obj{"key": "STRIPE_API_KEY", "version": json.Number("2"), "value": "sk_live_rotated"}), decode(t, w.Body.Bytes())); diff != "" {
		t.Errorf("after a rotation (-want +got):\n%s", diff)
	}
	var reveals []string
	for _, e := range auditEvents(t, f.audit.String()) {
		if e["msg"] == "coffer.reveal" {
			reveals = append(reveals, e["actor"].(string)+" "+e["environment"].(string)+" "+e["key"].(string))
		}
	}
	if diff := cmp.Diff([]string{"ci-deploy production STRIPE_API_KEY", "ci-deploy production STRIPE_API_KEY"}, reveals); diff != "" {
		t.Errorf("reveal audit events (-want +got):\n%s", diff)
	}

	tests := []struct {
		name   string
		method string
		target string
		status int
		body   any
	}{
		{"missing key", "GET", "/api/secrets/NOPE/value", 404, errorBody(problem("key", "not_found", `Secret not found: "NOPE" in project "default", environment "development"`))},
		{"did you mean", "GET", "/api/secrets/database_url/value", 404, errorBody(problem("key", "not_found", `Secret not found: "database_url" in project "default", environment "development"; did you mean DATABASE_URL?`))},
		{"invalid key", "GET", "/api/secrets/a-b/value", 422, errorBody(problem("key", "invalid_key", `Invalid secret key: character '-' at position 2 is not allowed; use letters, digits and underscores`))},
		{"HEAD", "HEAD", "/api/secrets/DATABASE_URL/value", 405, errorBody(problem("", "method_not_allowed", "Method not allowed; use GET"))},
		{"POST", "POST", "/api/secrets/DATABASE_URL/value", 405, errorBody(problem("", "method_not_allowed", "Method not allowed; use GET"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.serve(request(tt.method, tt.target, "", reader))
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if tt.method == "HEAD" {
				return
			}
			if diff := cmp.Diff(tt.body, decode(t, w.Body.Bytes())); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// environValues are values that need every form of .env quoting.
var environValues = map[string]string{
	"A_PLAIN":     "postgres://app:pw@db.internal:5432/app?sslmode=require",
	"B_SPACE":     "two words",
	"C_DOLLAR":    "pa$$word $HOME `id` \\ \"q\" #x",
	"D_QUOTE":     "it's $HOME `id` \\ \"q\"",
	"E_NEWLINE":   "line one\nline two\r\n",
	"F_EQUALS":    "a=b=c",
	"G_UNICODE":   "grüße ☃",
	"H_HASH":      "#not-a-comment",
	"I_BACKSLASH": `C:\path\to`,
}

// TestEnviron checks GET /api/environ in both formats: every secret of the
// environment with its value, in key order, audited as an environ read.
func TestEnviron(t *testing.T) {
	f := newFixture(t)
	for k, v := range environValues {
		f.seed("staging", k, v, "")
	}
	w := f.serve(request("GET", "/api/environ?env=staging", "", reader))
	wantEnv := "A_PLAIN='postgres://app:pw@db.internal:5432/app?sslmode=require'\n" +
		"B_SPACE='two words'\n" +
		"C_DOLLAR='pa$$word $HOME `id` \\ \"q\" #x'\n" +
		"D_QUOTE=\"it's \\$HOME \\`id\\` \\\\ \\\"q\\\"\"\n" +
		"E_NEWLINE=\"line one\\nline two\\r\\n\"\n" +
		"F_EQUALS=a=b=c\n" +
		"G_UNICODE='grüße ☃'\n" +
		"H_HASH='#not-a-comment'\n" +
		"I_BACKSLASH='C:\\path\\to'\n"
	if w.Code != 200 || w.Body.String() != wantEnv {
		t.Errorf("format env: status %d, body (-want +got):\n%s", w.Code, cmp.Diff(wantEnv, w.Body.String()))
	}
	if got := w.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if w2 := f.serve(request("GET", "/api/environ?env=staging&format=env", "", reader)); w2.Body.String() != wantEnv {
		t.Errorf("format=env differs from the default")
	}

	w = f.serve(request("GET", "/api/environ?env=staging&format=json", "", reader))
	var got map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("format json: %d %v", w.Code, err)
	}
	if diff := cmp.Diff(environValues, got); diff != "" {
		t.Errorf("format json (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(w.Body.String(), `{"A_PLAIN":`) {
		t.Errorf("format json is not in key order: %.40s", w.Body)
	}
	if w := f.serve(request("GET", "/api/environ?env=production&format=json", "", reader)); w.Body.String() != "{}\n" {
		t.Errorf("an empty environment: %q", w.Body)
	}
	w = f.serve(request("GET", "/api/environ?format=yaml", "", reader))
	wantErr := obj{"code": "invalid_format", "message": `Unknown format; use "env" or "json"`, "errors": arr{problem("format", "invalid_format", `Use "env" or "json"`)}}
	if diff := cmp.Diff(any(wantErr), decode(t, w.Body.Bytes())); w.Code != 400 || diff != "" {
		t.Errorf("format yaml: %d (-want +got):\n%s", w.Code, diff)
	}
	if n := strings.Count(f.audit.String(), `"msg":"coffer.environ","op":"environ","project":"default","environment":"staging","actor":"ci-deploy","outcome":"ok"`); n != 3 {
		t.Errorf("%d environ audit events by ci-deploy in staging, want 3:\n%s", n, f.audit)
	}
}

// TestEnvironShell checks that a POSIX shell reads the .env answer back
// exactly (`set -a; . FILE`) for every value without a line break, the
// one thing the .env convention and a shell write differently.
func TestEnvironShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on PATH")
	}
	f := newFixture(t)
	var keys []string
	for k, v := range environValues {
		if !strings.ContainsAny(v, "\r\n") {
			f.seed("development", k, v, "")
			keys = append(keys, k)
		}
	}
	w := f.serve(request("GET", "/api/environ", "", reader))
	file := filepath.Join(t.TempDir(), "app.env")
	if err := os.WriteFile(file, w.Body.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		cmd := exec.Command(sh, "-c", `set -a; . "$1"; printf %s "$(eval "printf %s \"\${$2}\"")"`, "sh", file, k)
		cmd.Env = []string{"HOME=/home/someone", "PATH=" + os.Getenv("PATH")}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sh reading %s: %v", k, err)
		}
		if string(out) != environValues[k] {
			t.Errorf("sh read %s as %q, want %q", k, out, environValues[k])
		}
	}
}

// FuzzDotenvQuote checks that every quoted value is one line and that the
// .env convention's reading gives the value back.
func FuzzDotenvQuote(f *testing.F) {
	for _, v := range environValues {
		f.Add(v)
	}
	f.Add("")
	f.Add("\xff\xfe'")
	f.Fuzz(func(t *testing.T, v string) {
		q := dotenvQuote(v)
		if strings.ContainsAny(q, "\r\n") {
			t.Fatalf("dotenvQuote(%q) = %q spans lines", v, q)
		}
		if got := readDotenv(t, q); got != v {
			t.Fatalf("dotenvQuote(%q) = %q reads back as %q", v, q, got)
		}
	})
}

// readDotenv reads a quoted .env value as the convention does: bare and
// single-quoted values literally, double-quoted ones with backslash escapes.
func readDotenv(t *testing.T, q string) string {
	switch {
	case q == "" || (q[0] != '\'' && q[0] != '"'):
		return q
	case q[0] == '\'':
		if len(q) < 2 || q[len(q)-1] != '\'' || strings.Contains(q[1:len(q)-1], "'") {
			t.Fatalf("malformed single-quoted value %q", q)
		}
		return q[1 : len(q)-1]
	}
	if len(q) < 2 || q[len(q)-1] != '"' {
		t.Fatalf("malformed double-quoted value %q", q)
	}
	var b strings.Builder
	in := q[1 : len(q)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		if c == '"' {
			t.Fatalf("unescaped quote in %q", q)
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(in) {
			t.Fatalf("dangling backslash in %q", q)
		}
		switch in[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case '\\', '"', '$', '`':
			b.WriteByte(in[i])
		default:
			t.Fatalf("unknown escape \\%c in %q", in[i], q)
		}
	}
	return b.String()
}
