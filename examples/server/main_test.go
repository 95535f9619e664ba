package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// startRun runs the server's run function on 127.0.0.1:0 with env as its
// environment, and returns the lines it printed up to "Stop with Ctrl-C."
// and a stop function that shuts it down and returns run's error.
func startRun(t *testing.T, env map[string]string, args ...string) (banner []string, stderr *syncBuffer, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr = &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		// A store of its own: mem:// collections live as long as the test
		// process, and each run seals under a fresh random key.
		store := fmt.Sprintf("mem://run%d", runs.Add(1))
		err := run(ctx, append([]string{"-addr", "127.0.0.1:0", "-store", store}, args...), func(k string) string { return env[k] }, pw, stderr)
		pw.CloseWithError(errors.New("run returned"))
		errc <- err
	}()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(20 * time.Second)
	for done := false; !done; {
		select {
		case line, ok := <-lines:
			if !ok {
				cancel()
				t.Fatalf("run stopped before printing its banner: %v; output %q; stderr %s", <-errc, banner, stderr)
			}
			banner = append(banner, line)
			done = line == "Stop with Ctrl-C."
		case <-timeout:
			cancel()
			t.Fatalf("no banner after 20s; got %q", banner)
		}
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("run did not return within 10s of cancellation")
		}
	}
	t.Cleanup(func() { _ = stop() })
	return banner, stderr, stop
}

var (
	runs        atomic.Int64
	listeningRe = regexp.MustCompile(`^Listening on (http://127\.0\.0\.1:[0-9]+/)$`)
	tokenRe     = regexp.MustCompile(`^  ([A-Za-z0-9_-]{43})$`)
)

// TestRunPrintsAddressAndSignIn starts the server as `go run
// ./examples/server` does and follows its printed instructions: open the
// address, sign in with the printed token.
func TestRunPrintsAddressAndSignIn(t *testing.T) {
	banner, stderr, stop := startRun(t, nil)
	var url, token string
	for _, line := range banner {
		if m := listeningRe.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if m := tokenRe.FindStringSubmatch(line); m != nil {
			token = m[1]
		}
	}
	if url == "" || token == "" {
		t.Fatalf("the banner lacks the address or the token:\n%s", strings.Join(banner, "\n"))
	}
	for _, want := range []string{
		`coffer server: project "default", environments development, staging, production, store mem://`,
		"Sign in: open " + url + " and enter this access token (generated for this run; set COFFER_SERVER_TOKEN to choose your own):",
		"API: curl -H 'Authorization: Bearer " + token + "' '" + url + "api/secrets?env=development'",
	} {
		if !containsLine(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, strings.Join(banner, "\n"))
		}
	}

	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "<title>Secrets</title>") {
		t.Errorf("GET %s: %d, want the Secrets page", url, resp.StatusCode)
	}
	resp, err = http.Post(url+"api/session", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("sign in with the printed token: %d, want 201", resp.StatusCode)
	}

	if err := stop(); err != nil {
		t.Errorf("run after cancellation: %v", err)
	}
	if !strings.Contains(stderr.String(), `"msg":"request"`) {
		t.Errorf("no request log on stderr: %s", stderr)
	}
	if strings.Contains(stderr.String(), token) {
		t.Error("the token is in the logs")
	}
}

// TestRunWithConfiguredToken checks that a token from COFFER_SERVER_TOKEN
// works and is never printed, and that -environments and -project apply.
func TestRunWithConfiguredToken(t *testing.T) {
	const token = "configured-token-0123456789"
	banner, _, stop := startRun(t, map[string]string{"COFFER_SERVER_TOKEN": token, "COFFER_PROJECT": "shop"}, "-environments", "dev,prod")
	out := strings.Join(banner, "\n")
	if strings.Contains(out, token) {
		t.Errorf("the banner prints the configured token:\n%s", out)
	}
	var url string
	for _, line := range banner {
		if m := listeningRe.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
	}
	for _, want := range []string{
		`coffer server: project "shop", environments dev, prod, store mem://`,
		"Sign in: open " + url + " and enter the access token from COFFER_SERVER_TOKEN",
	} {
		if !containsLine(banner, want) {
			t.Errorf("the banner lacks %q:\n%s", want, out)
		}
	}
	req, _ := http.NewRequest("POST", url+"api/secrets?env=prod", strings.NewReader(`{"key":"K","value":"v"}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(body), `"project":"shop","environment":"prod"`) {
		t.Errorf("create with the configured token: %d %s", resp.StatusCode, body)
	}
	if err := stop(); err != nil {
		t.Errorf("run after cancellation: %v", err)
	}
}

// TestRunRejectsBadConfiguration checks that run fails early and clearly.
func TestRunRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"-port", "80"}, nil, "flag provided but not defined: -port"},
		{"stray argument", []string{"serve"}, nil, `unexpected arguments ["serve"]`},
		{"no environments", []string{"-environments", " , "}, nil, "-environments names no environment"},
		{"short token", nil, map[string]string{"COFFER_SERVER_TOKEN": "short"}, `token "admin": the secret is 5 bytes; it must be at least 16`},
		{"unknown store scheme", []string{"-store", "redis://127.0.0.1/0"}, nil, "unsupported scheme"},
		{"bad address", []string{"-addr", "127.0.0.1:http-alt-nope"}, nil, "unknown port"},
		{"session key not base64", nil, map[string]string{"COFFER_SESSION_KEY": "not base64!"}, "COFFER_SESSION_KEY is not base64"},
		{"short session key", nil, map[string]string{"COFFER_SESSION_KEY": "c2hvcnQ="}, "COFFER_SESSION_KEY holds 5 bytes; it must be base64 of 32"},
		{"missing tokens file", []string{"-tokens", "/nonexistent/tokens.json"}, nil, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run = %v, want an error containing %q", err, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("run printed a banner despite failing: %q", stdout.String())
			}
		})
	}
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a server.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestRunWithTokensFile starts the server with a tokens file and no admin
// token: none is generated or printed, and the file's tokens work with
// their roles; a shared COFFER_SESSION_KEY is accepted.
func TestRunWithTokensFile(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/tokens.json"
	const reader = "reader-secret-0123456789"
	if err := os.WriteFile(file, []byte(`[{"name":"ci","secret":"`+reader+`","role":"reader"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	key := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	banner, _, stop := startRun(t, map[string]string{"COFFER_SERVER_TOKENS_FILE": file, "COFFER_SESSION_KEY": key})
	var url string
	for _, line := range banner {
		if m := listeningRe.FindStringSubmatch(line); m != nil {
			url = m[1]
		}
		if tokenRe.MatchString(line) {
			t.Errorf("a token was generated and printed: %q", line)
		}
	}
	if want := "Sign in: open " + url + " and enter an access token from the tokens file (1 token)"; !containsLine(banner, want) {
		t.Errorf("the banner lacks %q:\n%s", want, strings.Join(banner, "\n"))
	}
	for path, want := range map[string]int{"api/environ?env=development": 200, "api/secrets?env=development": 403} {
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s as the reader: %d, want %d", path, resp.StatusCode, want)
		}
	}
	if err := stop(); err != nil {
		t.Errorf("run after cancellation: %v", err)
	}
}
