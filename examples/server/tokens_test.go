package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer/cofferhttp"
)

// TestTokensFile checks -tokens: tokens with roles and environments join
// the admin token, and a malformed file is refused without quoting it.
func TestTokensFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(good, []byte(`[{"name":"ci","secret":"ci-secret-0123456789","role":"reader","environments":["prod"]},
		{"name":"vera","secret":"vera-secret-0123456789","role":"viewer"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readTokens(good)
	if err != nil {
		t.Fatal(err)
	}
	want := []cofferhttp.Token{
		{Name: "ci", Secret: "ci-secret-0123456789", Role: cofferhttp.RoleReader, Environments: []string{"prod"}},
		{Name: "vera", Secret: "vera-secret-0123456789", Role: cofferhttp.RoleViewer},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("tokens (-want +got):\n%s", diff)
	}
	for name, content := range map[string]string{
		"not a list":    `{"name":"x","secret":"CANARY-secret-0123"}`,
		"unknown field": `[{"name":"x","secret":"CANARY-secret-0123","roles":"admin"}]`,
		"trailing data": `[{"name":"x","secret":"CANARY-secret-0123","role":"admin"}] x`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		_ = os.WriteFile(path, []byte(content), 0o600)
		_, err := readTokens(path)
		if err == nil || strings.Contains(err.Error(), "CANARY") {
			t.Errorf("%s: %v; want an error that does not quote the file", name, err)
		}
	}
}

// FuzzParseTokens feeds arbitrary tokens files: an error or tokens, never
// a panic, and never an error quoting the file.
func FuzzParseTokens(f *testing.F) {
	f.Add([]byte(`[{"name":"ci","secret":"ci-secret-0123456789","role":"reader","environments":["prod"]}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(`[{"name":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseTokens(data)
		if err != nil && len(data) > 8 && strings.Contains(err.Error(), string(data)) {
			t.Fatalf("the error quotes the file: %v", err)
		}
	})
}
