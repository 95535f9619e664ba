//go:build linux

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// terminal is the controlling side of a pseudo-terminal that a coffer
// process has as its stdin and stderr.
type terminal struct {
	ptmx *os.File
	mu   sync.Mutex
	out  bytes.Buffer // everything the terminal showed
	done chan struct{}
}

// startOnTerminal runs coffer args with a new terminal as stdin and stderr
// (its controlling terminal) and stdout in the returned buffer.
func startOnTerminal(t *testing.T, env []string, args ...string) (*terminal, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var stdout bytes.Buffer
	cmd := &exec.Cmd{Path: exe, Args: append([]string{"coffer"}, args...), Env: env,
		Stdin: tty, Stdout: &stdout, Stderr: tty,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	term := &terminal{ptmx: ptmx, done: make(chan struct{})}
	go func() {
		defer close(term.done)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			term.mu.Lock()
			term.out.Write(buf[:n])
			term.mu.Unlock()
			if err != nil {
				return // EIO once the process has closed the terminal
			}
		}
	}()
	return term, cmd, &stdout
}

func (term *terminal) shown() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return term.out.String()
}

// waitFor waits until cond holds, or fails the test after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// finish waits for the process and the terminal's last output.
func (term *terminal) finish(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("coffer %v: %v; the terminal showed:\n%s", cmd.Args[1:], err, term.shown())
	}
	select {
	case <-term.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the terminal did not close")
	}
}

func ptyEnv(t *testing.T) []string {
	dir := t.TempDir()
	return append(os.Environ(),
		"COFFER_STORE_URL=sqlite:///"+strings.TrimPrefix(filepath.ToSlash(filepath.Join(dir, "store.db")), "/"),
		"COFFER_KEEPER_URL="+randomKeeper(), stderrLog+"=")
}

// On a terminal, set prompts on stderr and reads the value with echo off:
// the terminal never shows it.
func TestSetPromptsWithoutEcho(t *testing.T) {
	env := ptyEnv(t)
	const value = "pty_canary_s3cr3t_value"
	term, cmd, _ := startOnTerminal(t, env, "set", "PTY_TOKEN")
	waitFor(t, "the prompt", func() bool { return strings.Contains(term.shown(), "Value for PTY_TOKEN (input hidden): ") })
	// Type only once echo is off: characters typed before would be echoed
	// by the terminal whatever coffer does.
	waitFor(t, "echo off", func() bool {
		tio, err := unix.IoctlGetTermios(int(term.ptmx.Fd()), unix.TCGETS)
		return err == nil && tio.Lflag&unix.ECHO == 0
	})
	if _, err := term.ptmx.Write([]byte(value + "\r")); err != nil {
		t.Fatal(err)
	}
	term.finish(t, cmd)
	shown := term.shown()
	if strings.Contains(shown, value) {
		t.Errorf("the terminal showed the value:\n%q", shown)
	}
	if !strings.Contains(shown, "created PTY_TOKEN") {
		t.Errorf("the terminal showed %q, want the confirmation", shown)
	}
	out, err := (&exec.Cmd{Path: cmd.Path, Args: []string{"coffer", "reveal", "PTY_TOKEN"}, Env: env}).Output()
	if err != nil || string(out) != value+"\n" {
		t.Errorf("reveal after the prompt: %q, %v; want %q", out, err, value+"\n")
	}
}

// On a terminal, import and reseal draw a progress bar instead of lines.
func TestProgressBarOnTerminal(t *testing.T) {
	env := ptyEnv(t)
	var file strings.Builder
	for i := range 30 {
		file.WriteString("KEY_" + strconv.Itoa(i) + "=canary_" + strconv.Itoa(i) + "\n")
	}
	path := filepath.Join(t.TempDir(), "in.env")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	term, cmd, _ := startOnTerminal(t, env, "import", path)
	term.finish(t, cmd)
	if shown := term.shown(); !strings.Contains(shown, "importing") || !strings.Contains(shown, "(29/30)") || strings.Contains(shown, "created KEY_1\r\n") {
		t.Errorf("import on a terminal showed %q, want a bar and no plain lines", shown)
	}
	for _, args := range [][]string{{"rotate-key"}, {"reseal", "--batch", "3"}} {
		term, cmd, _ = startOnTerminal(t, env, args...)
		term.finish(t, cmd)
	}
	if shown := term.shown(); !strings.Contains(shown, "resealing") || !strings.Contains(shown, "/30)") || strings.Contains(shown, "resealed 3/30") {
		t.Errorf("reseal on a terminal showed %q, want a bar and no plain lines", shown)
	}
}
