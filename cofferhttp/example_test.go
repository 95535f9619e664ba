package cofferhttp_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/cofferhttp"
)

// A service serves the Secrets page and API for its people (an editor) and
// its programs (a reader of production), then a program reads a value.
func ExampleNewHandler() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-handler", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	const editorToken, readerToken = "editor-token-0123456789", "reader-token-0123456789"
	h, err := cofferhttp.NewHandler(m, &cofferhttp.Options{
		Environments: []string{"development", "production"},
		Tokens: []cofferhttp.Token{
			{Name: "alice", Secret: editorToken, Role: cofferhttp.RoleEditor},
			{Name: "api-prod", Secret: readerToken, Role: cofferhttp.RoleReader, Environments: []string{"production"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	call := func(method, path, token, body string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		fmt.Printf("%s %s: %d %.100s\n", method, path, resp.StatusCode, strings.TrimSpace(string(out)))
	}
	call("POST", "/api/secrets?env=production", editorToken, `{"key":"DATABASE_URL","value":"postgres://db/app"}`)
	call("GET", "/api/secrets/DATABASE_URL/value?env=production", editorToken, "")
	call("GET", "/api/secrets/DATABASE_URL/value?env=production", readerToken, "")
	call("GET", "/api/environ?env=production", readerToken, "")
	// Output:
	// POST /api/secrets?env=production: 201 {"key":"DATABASE_URL","description":"","type":"connection_string","project":"default","environment":
	// GET /api/secrets/DATABASE_URL/value?env=production: 403 {"code":"forbidden","message":"Your role (editor) cannot read secret values in production","errors":
	// GET /api/secrets/DATABASE_URL/value?env=production: 200 {"key":"DATABASE_URL","version":1,"value":"postgres://db/app"}
	// GET /api/environ?env=production: 200 DATABASE_URL=postgres://db/app
}
