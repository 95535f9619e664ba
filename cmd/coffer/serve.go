package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/cofferhttp"
	"github.com/coffer-go/coffer/internal/server"
)

// defaultAddr is where serve listens without --addr: this machine only.
const defaultAddr = "127.0.0.1:8080"

func (a *app) serveCommand() *cobra.Command {
	var (
		addr, tokensFile string
		envs             []string
	)
	c := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--tokens FILE] [--env E]...",
		Short: "serve the Secrets page and its API",
		Long: `Serve the Secrets page and its JSON API (package cofferhttp, the handler
examples/server runs) over the configured store and project, until SIGINT
(Ctrl-C) or SIGTERM: then it stops taking connections, lets the requests in
flight finish (for up to 5 s) and exits 0.

It listens on ` + defaultAddr + ` unless --addr says otherwise: loopback, this
machine only. Any other address serves the network over plain HTTP: put TLS
in front of it.

Access tokens never come from a flag (process listings show flags):
  COFFER_SERVER_TOKEN        the token of an admin named "admin"
  --tokens FILE              tokens with roles (or COFFER_SERVER_TOKENS_FILE),
                             a JSON list, mode 600, as examples/server reads:
    [{"name": "ci", "secret": "...", "role": "reader", "environments": ["production"]}]
Roles: viewer (metadata), editor (metadata and changes), reader (values, for
programs), admin (all); "environments" limits a token (absent: all served).
Secrets are at least 16 bytes. Without any token serve does not start.
COFFER_SESSION_KEY, base64 of 32 bytes, signs page sessions: give replicas
the same one (unset: a random key, sessions end with the process).

--env (repeatable or comma-separated) names the environments served, the
page's default first; without it, COFFER_ENV or "default".

Where it listens and how to sign in go to stderr once; then a JSON line per
request ("log":"http") and per audit event ("log":"audit"). No token or value
is ever printed. Exit status: 0 after SIGINT or SIGTERM; 1 when it cannot
start (no token, a bad tokens file or session key, the address in use) or
requests were cut off; 2 for usage mistakes.`,
		Example: `  export COFFER_SERVER_TOKEN=$(head -c 32 /dev/urandom | base64)
  coffer serve --env development,staging,production
  curl -H "Authorization: Bearer $COFFER_SERVER_TOKEN" 'http://127.0.0.1:8080/api/secrets?env=staging'`,
	}
	f := c.Flags()
	f.StringVar(&addr, "addr", defaultAddr, "listen on `HOST:PORT` (port 0: any free one)")
	f.StringVar(&tokensFile, "tokens", "", "JSON `FILE` of access tokens with roles (env "+server.EnvTokensFile+")")
	f.StringSliceVar(&envs, "env", nil, "serve these `environments`, the default first (default: COFFER_ENV or \"default\")")
	c.RunE = a.run(noArgs, func(ctx context.Context, _ []string) error {
		for i, e := range envs {
			if slices.Contains(envs[:i], e) {
				return usagef("--env %s is given twice", e)
			}
		}
		if tokensFile == "" {
			tokensFile = os.Getenv(server.EnvTokensFile)
		}
		tokens, err := serverTokens(tokensFile)
		if err != nil {
			return err
		}
		sessionKey, err := server.SessionKey(os.Getenv(server.EnvSessionKey))
		if err != nil {
			return err
		}
		cfg, err := a.config()
		if err != nil {
			return err
		}
		if len(envs) == 0 {
			envs = []string{firstOf(cfg.env, coffer.DefaultName)}
		}
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		// After the first signal, a second one ends coffer at once.
		context.AfterFunc(ctx, stop)
		return a.serve(ctx, addr, cfg, envs, tokens, sessionKey, tokensFile)
	})
	return c
}

// serve runs the handler until ctx is done.
func (a *app) serve(ctx context.Context, addr string, cfg config, envs []string, tokens []cofferhttp.Token, sessionKey []byte, tokensFile string) error {
	logs := server.NewLogs(a.stderr)
	defer logs.Close()
	m, err := a.open(ctx, logs.Audit)
	if err != nil {
		return err
	}
	defer m.Close()
	h, err := cofferhttp.NewHandler(m, &cofferhttp.Options{
		Environments: envs,
		Tokens:       tokens,
		SessionKey:   sessionKey,
		Log:          logs.Requests,
		AuditLog:     logs.Audit,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	a.serveBanner(ln.Addr(), cfg, envs, tokens, tokensFile)
	if err := server.Serve(ctx, ln, h, logs.HTTP); err != nil {
		return err
	}
	_ = logs.Close()
	fmt.Fprintln(a.stderr, "coffer: stopped; every request finished")
	return nil
}

// serverTokens returns the tokens of COFFER_SERVER_TOKEN and the tokens
// file; it fails when there are none, for nobody could sign in.
func serverTokens(path string) ([]cofferhttp.Token, error) {
	if path != "" {
		info, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("tokens file: %w", err)
		}
		// As with the key file: Windows keeps access in ACLs, not in these bits.
		if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
			return nil, fmt.Errorf("tokens file %s is open to other users (mode %04o): run chmod 600 %s", path, perm, path)
		}
	}
	tokens, err := server.ReadTokens(path)
	if err != nil {
		return nil, fmt.Errorf("tokens file %w", err)
	}
	if t := os.Getenv(server.EnvToken); t != "" {
		tokens = append([]cofferhttp.Token{server.AdminToken(t)}, tokens...)
	}
	if len(tokens) == 0 {
		if path != "" {
			return nil, fmt.Errorf("no access token: the tokens file %s lists none and %s is not set", path, server.EnvToken)
		}
		return nil, errors.New("no access token, so nobody could sign in: set " + server.EnvToken +
			" to an admin token (16 bytes or more, e.g. $(head -c 32 /dev/urandom | base64)) or give --tokens FILE; see 'coffer help serve'")
	}
	return tokens, nil
}

// serveBanner tells, once, where the server listens and how to sign in. It
// never prints a token, nor the store's URL (it can hold a password): only
// its scheme.
func (a *app) serveBanner(addr net.Addr, cfg config, envs []string, tokens []cofferhttp.Token, tokensFile string) {
	url := "http://" + addr.String() + "/"
	w := a.stderr
	scheme, _, _ := strings.Cut(cfg.storeURL, "://")
	fmt.Fprintf(w, "coffer: serving the Secrets page and API on %s\n", url)
	fmt.Fprintf(w, "coffer: project %q, environments %s (the first is the default), store %s://\n",
		firstOf(cfg.project, coffer.DefaultName), strings.Join(envs, ", "), scheme)
	if !server.Loopback(addr) {
		fmt.Fprintln(w, "coffer: warning: listening beyond this machine over plain HTTP; put TLS in front of it")
	}
	var from []string
	if os.Getenv(server.EnvToken) != "" {
		from = append(from, "the admin token in "+server.EnvToken)
	}
	if tokensFile != "" {
		n := len(tokens) - len(from)
		from = append(from, fmt.Sprintf("one of the %d in %s", n, tokensFile))
	}
	fmt.Fprintf(w, "coffer: sign in there with %s\n", strings.Join(from, " or "))
	fmt.Fprintf(w, "coffer: API: curl -H \"Authorization: Bearer $TOKEN\" '%sapi/secrets?env=%s'\n", url, envs[0])
	fmt.Fprintln(w, "coffer: Ctrl-C or SIGTERM stops it; JSON lines follow, one per request and per audit event")
}
