package e2e_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite://, the store the test shares with the server
)

// testToken is the server's access token (COFFER_SERVER_TOKEN).
const testToken = "test-token-0123456789abcdefghij"

// fixedNow is the clock of the secrets the test seeds, so their creation
// dates on the page are known.
var fixedNow = time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)

// store is what the test and the server share: a SQLite file sealed under
// one local key. The test seeds and inspects it through its own Manager
// while the server runs; SQLite in WAL mode lets two processes share the
// file.
type store struct {
	t         *testing.T
	url       string // sqlite:///PATH
	keeperURL string // base64key://KEY
	m         *coffer.Manager
	envs      map[string]*coffer.Manager
}

// newStore makes a fresh store in a temporary directory and opens the
// test's Manager on it, with the fixed clock.
func newStore(t *testing.T) *store {
	t.Helper()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	s := &store{
		t:         t,
		url:       "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "coffer.db")),
		keeperURL: "base64key://" + base64.URLEncoding.EncodeToString(key[:]),
		envs:      map[string]*coffer.Manager{},
	}
	s.m, err = coffer.Open(context.Background(), s.url, s.keeperURL, &coffer.Options{Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.m.Close() })
	return s
}

// env returns the test's Manager of an environment, to check through the
// library what the server did.
func (s *store) env(name string) *coffer.Manager {
	s.t.Helper()
	if m, ok := s.envs[name]; ok {
		return m
	}
	m, err := s.m.Environment(name)
	if err != nil {
		s.t.Fatal(err)
	}
	s.envs[name] = m
	return m
}

// seed stores a secret through the library.
func (s *store) seed(env, key, value, description string) {
	s.t.Helper()
	ctx := coffer.WithActor(context.Background(), "seed")
	if _, err := s.env(env).Create(ctx, coffer.NewSecret{Key: key, Value: coffer.Value(value), Description: description}); err != nil {
		s.t.Fatal(err)
	}
}

// server is the reference server under test.
type server struct {
	// URL is where it serves the page and the API, "http://127.0.0.1:PORT/".
	URL string

	// Output returns everything the server printed (banner, audit and
	// request logs); it is complete once the test's cleanups have run.
	Output func() string
}

// startServer runs the reference server over st with testToken until the
// test ends, and fails the test if the server then exits with an error or
// a race report. Today that means building examples/server and running it
// as a process on 127.0.0.1 (with -race when the test has it), reading its
// address from the banner it prints. When the server becomes an importable
// package (cofferhttp), this function alone changes: it becomes an
// httptest.NewServer over the package's handler on st's Manager, and the
// test's stages stay as they are.
func startServer(t *testing.T, st *store) *server {
	t.Helper()
	bin := buildServer(t)
	out := &syncBuffer{}
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-store", st.url)
	// The keeper URL and the token go through the environment, as the
	// server documents (flags show in process listings).
	cmd.Env = append(os.Environ(), "COFFER_KEEPER_URL="+st.keeperURL, "COFFER_SERVER_TOKEN="+testToken)
	cmd.Stderr = out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	urlc := make(chan string, 1)
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = out.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(line, "Listening on "); ok {
				urlc <- u
			}
		}
	}()
	go func() {
		copied.Wait() // Wait closes stdout: read it all first
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// SIGINT is the server's graceful stop; a server that ignores it
		// is killed and the test fails.
		_ = cmd.Process.Signal(os.Interrupt)
		var err error
		select {
		case err = <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			err = errors.Join(errors.New("did not stop within 15 s of SIGINT"), <-exited)
		}
		if err != nil {
			t.Errorf("the server exited with %v; its output:\n%s", err, out.String())
		}
		if strings.Contains(out.String(), "WARNING: DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", out.String())
		}
	})
	select {
	case u := <-urlc:
		return &server{URL: u, Output: out.String}
	case err := <-exited:
		t.Fatalf("the server exited before serving: %v\n%s", err, out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the server printed no address within 30 s:\n%s", out.String())
	}
	return nil
}

// buildServer builds examples/server, in the library module, into the
// test's temporary directory and returns the binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "server")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "./examples/server")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(cmd.Args[1:], " "), root, err, out)
	}
	return bin
}

// syncBuffer collects a process's output from several goroutines.
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
