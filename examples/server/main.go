package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // -store sqlite:// or postgres://
	"github.com/coffer-go/coffer/cofferhttp"
	"github.com/coffer-go/coffer/internal/server"
)

// DefaultEnvironments are the environments served when -environments and
// COFFER_ENVIRONMENTS are unset; the first is the page's default.
var DefaultEnvironments = []string{"development", "staging", "production"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "server:", err)
		}
		os.Exit(1)
	}
}

// config is the server's configuration, from flags and the environment.
type config struct {
	addr, store, keeper, project, token string
	tokensFile, sessionKey, cpuProfile  string
	envs                                []string
}

func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	or := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c config
	var envs string
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", or("COFFER_SERVER_ADDR", "127.0.0.1:8080"), "listen `address` (env COFFER_SERVER_ADDR)")
	fs.StringVar(&c.store, "store", or("COFFER_STORE_URL", "mem://server"), "collection `URL` (env COFFER_STORE_URL); mem:// is in memory only; sqlite:///path.db or postgres://... persist")
	fs.StringVar(&c.project, "project", or("COFFER_PROJECT", coffer.DefaultName), "`project` (env COFFER_PROJECT)")
	fs.StringVar(&c.tokensFile, "tokens", getenv(server.EnvTokensFile), "JSON `file` of further tokens with roles (env COFFER_SERVER_TOKENS_FILE)")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to `file` (for load tests)")
	fs.StringVar(&envs, "environments", or("COFFER_ENVIRONMENTS", strings.Join(DefaultEnvironments, ",")), "comma-separated `environments`, the first is the default (env COFFER_ENVIRONMENTS)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, e := range strings.Split(envs, ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.envs = append(c.envs, e)
		}
	}
	if len(c.envs) == 0 {
		return config{}, errors.New("-environments names no environment")
	}
	c.keeper = getenv("COFFER_KEEPER_URL")
	c.token = getenv(server.EnvToken)
	c.sessionKey = getenv(server.EnvSessionKey)
	return c, nil
}

// run starts the server and serves until ctx is done. It prints the address
// and how to sign in to stdout; the audit and request logs go to stderr as
// JSON lines.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c, err := parseConfig(args, getenv, stderr)
	if err != nil {
		return err
	}
	keeperURL, randomKeeper := c.keeper, c.keeper == ""
	if randomKeeper {
		// A key for this run only: fine with the in-memory store, which
		// forgets everything at exit anyway.
		key, err := localsecrets.NewRandomKey()
		if err != nil {
			return err
		}
		keeperURL = "base64key://" + base64.URLEncoding.EncodeToString(key[:])
	}
	tokens, err := server.ReadTokens(c.tokensFile)
	if err != nil {
		return err
	}
	token, generated := c.token, c.token == "" && len(tokens) == 0
	if generated {
		token = randomToken()
	}
	if token != "" {
		tokens = append([]cofferhttp.Token{server.AdminToken(token)}, tokens...)
	}
	sessionKey, err := server.SessionKey(c.sessionKey)
	if err != nil {
		return err
	}
	if c.cpuProfile != "" {
		f, err := os.Create(c.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() {
			pprof.StopCPUProfile()
			_ = f.Close()
		}()
	}

	logs := server.NewLogs(stderr)
	defer logs.Close()
	m, err := coffer.Open(ctx, c.store, keeperURL, &coffer.Options{
		Project:  c.project,
		AuditLog: logs.Audit,
	})
	if err != nil {
		return err
	}
	defer m.Close()
	h, err := cofferhttp.NewHandler(m, &cofferhttp.Options{
		Environments: c.envs,
		Tokens:       tokens,
		SessionKey:   sessionKey,
		Log:          logs.Requests,
		AuditLog:     logs.Audit,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	printBanner(stdout, c, url, token, generated, randomKeeper, ln.Addr(), len(tokens))
	return server.Serve(ctx, ln, h, logs.HTTP)
}

// printBanner tells the user where the server is and how to sign in. It
// never prints the store or keeper URL (they can hold passwords and key
// material), and prints the token only when it generated it.
func printBanner(w io.Writer, c config, url, token string, generated, randomKeeper bool, addr net.Addr, nTokens int) {
	scheme, _, _ := strings.Cut(c.store, "://")
	fmt.Fprintf(w, "coffer server: project %q, environments %s, store %s://\n", c.project, strings.Join(c.envs, ", "), scheme)
	if scheme == "mem" || randomKeeper {
		fmt.Fprintln(w, "  (in-memory store or a random key: secrets last only as long as this process)")
	}
	if !server.Loopback(addr) {
		fmt.Fprintln(w, "  warning: listening beyond loopback over plain HTTP; put TLS in front of it")
	}
	fmt.Fprintf(w, "Listening on %s\n", url)
	if generated {
		fmt.Fprintf(w, "Sign in: open %s and enter this access token (generated for this run; set COFFER_SERVER_TOKEN to choose your own):\n", url)
		fmt.Fprintf(w, "  %s\n", token)
		fmt.Fprintf(w, "API: curl -H 'Authorization: Bearer %s' '%sapi/secrets?env=%s'\n", token, url, c.envs[0])
	} else {
		switch {
		case c.tokensFile == "":
			fmt.Fprintf(w, "Sign in: open %s and enter the access token from COFFER_SERVER_TOKEN\n", url)
			fmt.Fprintf(w, "API: curl -H \"Authorization: Bearer $COFFER_SERVER_TOKEN\" '%sapi/secrets?env=%s'\n", url, c.envs[0])
		case token == "":
			fmt.Fprintf(w, "Sign in: open %s and enter an access token from the tokens file (%s)\n", url, plural(nTokens, "token"))
			fmt.Fprintf(w, "API: curl -H \"Authorization: Bearer $TOKEN\" '%sapi/secrets?env=%s'\n", url, c.envs[0])
		default:
			fmt.Fprintf(w, "Sign in: open %s and enter the access token from COFFER_SERVER_TOKEN or one from the tokens file (%s in all)\n", url, plural(nTokens, "token"))
			fmt.Fprintf(w, "API: curl -H \"Authorization: Bearer $TOKEN\" '%sapi/secrets?env=%s'\n", url, c.envs[0])
		}
	}
	fmt.Fprintln(w, "Stop with Ctrl-C.")
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// plural says "1 token", "3 tokens".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
