//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to drop the scripts' tables
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/coffer-go/coffer/internal/testengine"
)

// stderrLog names the file every coffer run by a script appends its stderr
// to, so the script's end can check that no value ever reached it.
const stderrLog = "COFFER_TEST_STDERR_LOG"

// canary is in every value the scripts store: stderr must never show it.
const canary = "canary"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"coffer": func() { os.Exit(testMain()) },
	})
}

// testMain is main, with stderr also appended to $COFFER_TEST_STDERR_LOG.
// run's program keeps the real stderr: what it prints is its own.
func testMain() int {
	stderr := io.Writer(os.Stderr)
	if path := os.Getenv(stderrLog); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 99
		}
		defer f.Close()
		stderr = io.MultiWriter(os.Stderr, f)
	}
	a := newApp(os.Stdin, os.Stdout, stderr)
	a.child.stderr = os.Stderr
	return a.main(context.Background(), os.Args[1:])
}

// TestScripts runs testdata/script/*.txtar on a SQLite store, and the same
// scripts on PostgreSQL (COFFER_POSTGRES_URL; skipped without it, failed
// under CI=true).
func TestScripts(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		runScripts(t, "sqlite", func(env *testscript.Env) (string, error) {
			return "sqlite:///" + strings.TrimPrefix(filepath.ToSlash(filepath.Join(env.WorkDir, "store.db")), "/"), nil
		})
	})
	t.Run("postgres", func(t *testing.T) {
		server := testengine.Env(t, testengine.PostgresURL)
		runScripts(t, "postgres", func(env *testscript.Env) (string, error) {
			table := "cli_" + randomHex(6)
			env.Defer(func() {
				db, err := sql.Open("pgx", server)
				if err == nil {
					_, err = db.Exec("DROP TABLE IF EXISTS " + table)
					db.Close()
				}
				if err != nil {
					env.T().Fatal("drop table: ", err)
				}
			})
			u, err := url.Parse(server)
			if err != nil {
				return "", errors.New("COFFER_POSTGRES_URL is not a URL")
			}
			q := u.Query()
			q.Set("table", table)
			u.RawQuery = q.Encode()
			return u.String(), nil
		})
	})
}

func runScripts(t *testing.T, backend string, storeURL func(*testscript.Env) (string, error)) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: false,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			store, err := storeURL(env)
			if err != nil {
				return err
			}
			home := filepath.Join(env.WorkDir, "home")
			log := filepath.Join(env.WorkDir, ".stderr.log")
			env.Setenv("HOME", home)
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
			env.Setenv("USER", "tester")
			env.Setenv("COFFER_STORE_URL", store)
			env.Setenv("COFFER_KEEPER_URL", randomKeeper())
			env.Setenv("BACKEND", backend)
			env.Setenv("OTHER_KEEPER_URL", randomKeeper())
			env.Setenv("THIRD_KEEPER_URL", randomKeeper())
			env.Setenv(stderrLog, log)
			env.Defer(func() {
				b, err := os.ReadFile(log)
				if err != nil && !errors.Is(err, os.ErrNotExist) {
					env.T().Fatal(err)
				}
				if bytes.Contains(bytes.ToLower(b), []byte(canary)) {
					env.T().Fatal("a value (marked " + canary + ") reached coffer's stderr:\n" + string(b))
				}
			})
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sqlite", "postgres":
				return cond == backend, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exits":    cmdExits,
			"waitfile": cmdWaitfile,
			"sigpid":   cmdSigpid,
			"lines":    cmdLines,
			"waiturl":  cmdWaiturl,
			"http":     cmdHTTP,
		},
	})
}

// exits CODE CMD ARGS...: run CMD and check its exit status.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE CMD ARGS...")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		got = exit.ExitCode()
	} else if err != nil {
		ts.Fatalf("%v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// waitfile FILE: wait up to 10 s for FILE to exist and be non-empty.
func cmdWaitfile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 && bytes.HasSuffix(b, []byte("\n")) {
			return
		}
	}
	ts.Fatalf("%s did not appear", args[0])
}

// sigpid SIGNAL FILE: send SIGNAL (INT, TERM) to the process whose PID is
// in FILE.
func cmdSigpid(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: sigpid INT|TERM FILE")
	}
	sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM, "HUP": syscall.SIGHUP}[args[0]]
	if sig == 0 {
		ts.Fatalf("unknown signal %s", args[0])
	}
	pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(args[1])))
	ts.Check(err)
	ts.Check(syscall.Kill(pid, sig))
}

// lines stdout|stderr MAX: the last command's output has at most MAX lines.
func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: lines stdout|stderr MAX")
	}
	max, err := strconv.Atoi(args[1])
	ts.Check(err)
	n := strings.Count(ts.ReadFile(args[0]), "\n")
	if n > max {
		ts.Fatalf("%s has %d lines, more than %d", args[0], n, max)
	}
}

// servingRe finds the address in serve's first line.
var servingRe = regexp.MustCompile(`(?m)^coffer: serving the Secrets page and API on (http://([^/ ]+))/$`)

// waiturl FILE: wait up to 20 s for FILE to show serve's address, then set
// URL (http://HOST:PORT, no slash) and ADDR (HOST:PORT).
func cmdWaiturl(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waiturl FILE")
	}
	path := ts.MkAbs(args[0])
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(path)
		if m := servingRe.FindSubmatch(b); m != nil {
			ts.Setenv("URL", string(m[1]))
			ts.Setenv("ADDR", string(m[2]))
			return
		}
	}
	ts.Fatalf("%s shows no address after 20 s:\n%s", args[0], ts.ReadFile(args[0]))
}

// http [-token T] [-body FILE] METHOD URL STATUS: make the request (a URL
// starting with / is under $URL), with the token as a bearer token and the
// file as a JSON body; check the status, and put the answer's body on
// stdout.
func cmdHTTP(ts *testscript.TestScript, neg bool, args []string) {
	fs := flag.NewFlagSet("http", flag.ContinueOnError)
	token := fs.String("token", "", "bearer token")
	body := fs.String("body", "", "JSON body file")
	if neg || fs.Parse(args) != nil || fs.NArg() != 3 {
		ts.Fatalf("usage: http [-token T] [-body FILE] METHOD URL STATUS")
	}
	method, url := fs.Arg(0), fs.Arg(1)
	want, err := strconv.Atoi(fs.Arg(2))
	ts.Check(err)
	if strings.HasPrefix(url, "/") {
		url = ts.Getenv("URL") + url
	}
	var r io.Reader
	if *body != "" {
		r = strings.NewReader(ts.ReadFile(*body))
	}
	req, err := http.NewRequest(method, url, r)
	ts.Check(err)
	if *token != "" {
		req.Header.Set("Authorization", "Bearer "+*token)
	}
	if r != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ts.Check(err)
	fmt.Fprintf(ts.Stdout(), "%s", b)
	if resp.StatusCode != want {
		ts.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, b)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func randomKeeper() string {
	k := make([]byte, 32)
	rand.Read(k)
	return "base64key://" + base64.URLEncoding.EncodeToString(k)
}
