package server

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer/cofferhttp"
)

// TestTokensFile checks a tokens file: its tokens keep their roles and
// environments, and a malformed file is refused without quoting it.
func TestTokensFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "tokens.json")
	if err := os.WriteFile(good, []byte(`[{"name":"ci","secret":"ci-secret-0123456789","role":"reader","environments":["prod"]},
		{"name":"vera","secret":"vera-secret-0123456789","role":"viewer"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTokens(good)
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
		_, err := ReadTokens(path)
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
		_, err := ParseTokens(data)
		if err != nil && len(data) > 8 && strings.Contains(err.Error(), string(data)) {
			t.Fatalf("the error quotes the file: %v", err)
		}
	})
}

// TestAdminToken checks the token of COFFER_SERVER_TOKEN: an admin named
// "admin", the actor of its changes.
func TestAdminToken(t *testing.T) {
	want := cofferhttp.Token{Name: "admin", Secret: "admin-secret-0123456789", Role: cofferhttp.RoleAdmin}
	if diff := cmp.Diff(want, AdminToken("admin-secret-0123456789")); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
}

// TestSessionKey checks the decoding of COFFER_SESSION_KEY, and that its
// errors do not quote it.
func TestSessionKey(t *testing.T) {
	want := bytes.Repeat([]byte{7}, cofferhttp.SessionKeyLen)
	got, err := SessionKey(base64.StdEncoding.EncodeToString(want))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("key (-want +got):\n%s", diff)
	}
	if got, err := SessionKey(""); got != nil || err != nil {
		t.Errorf(`SessionKey("") = %v, %v; want nil, nil`, got, err)
	}
	for _, bad := range []string{"CANARY not base64!", base64.StdEncoding.EncodeToString([]byte("CANARY-short"))} {
		_, err := SessionKey(bad)
		if err == nil || strings.Contains(err.Error(), "CANARY") || strings.Contains(err.Error(), bad) {
			t.Errorf("SessionKey(%q) = %v; want an error that does not quote it", bad, err)
		}
	}
}

// FuzzSessionKey feeds arbitrary session keys: 32 bytes or an error that
// does not quote the value, never a panic.
func FuzzSessionKey(f *testing.F) {
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Add("c2hvcnQ=")
	f.Add("!")
	f.Fuzz(func(t *testing.T, s string) {
		key, err := SessionKey(s)
		switch {
		case err != nil && len(s) > 8 && strings.Contains(err.Error(), s):
			t.Fatalf("the error quotes the key: %v", err)
		case err == nil && s != "" && len(key) != cofferhttp.SessionKeyLen:
			t.Fatalf("a %d-byte key accepted", len(key))
		}
	})
}
