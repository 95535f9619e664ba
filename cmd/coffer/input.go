package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/coffer-go/coffer"
)

var termIsTerminal = term.IsTerminal

// maxInputBytes bounds what a value read from stdin or a file may be; the
// store's own limit (64 KiB by default) is checked by coffer itself.
const maxInputBytes = 16 << 20

// valueSource says where set takes a value from.
type valueSource struct {
	generate int    // --generate N: N random bytes
	file     string // --file PATH: the file's bytes as they are
}

// check reports a usage error in the flags.
func (src valueSource) check() error {
	switch {
	case src.generate != 0 && src.file != "":
		return usagef("--generate and --file cannot be used together")
	case src.generate != 0 && (src.generate < coffer.MinGenerateBytes || src.generate > coffer.MaxGenerateBytes):
		return usagef("--generate takes a number of random bytes from %d to %d, not %d", coffer.MinGenerateBytes, coffer.MaxGenerateBytes, src.generate)
	}
	return nil
}

// exists reports whether a file is at path.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readValue returns the value: generated, from the file, or from stdin (a
// prompt without echo on a terminal; one trailing newline removed from a
// pipe). prompt is shown on a terminal.
func (a *app) readValue(src valueSource, prompt string) (coffer.Value, error) {
	if err := src.check(); err != nil {
		return "", err
	}
	switch {
	case src.generate != 0:
		return coffer.Generate(src.generate)
	case src.file != "":
		f, err := os.Open(src.file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		return readAllLimited(f)
	}
	if isTerminal(a.stdin) {
		return a.readHidden(prompt)
	}
	v, err := readAllLimited(a.stdin)
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(v), "\n")
	return coffer.Value(strings.TrimSuffix(s, "\r")), nil
}

func readAllLimited(r io.Reader) (coffer.Value, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInputBytes+1))
	if err != nil {
		return "", fmt.Errorf("read the value: %w", err)
	}
	if len(b) > maxInputBytes {
		return "", fmt.Errorf("%w: the input is over %d bytes", coffer.ErrValueTooLarge, maxInputBytes)
	}
	return coffer.Value(b), nil
}

// readHidden prompts on stderr and reads a line from the terminal on stdin
// without echoing it.
func (a *app) readHidden(prompt string) (coffer.Value, error) {
	fmt.Fprint(a.stderr, prompt)
	b, err := term.ReadPassword(int(a.stdin.(*os.File).Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", fmt.Errorf("read the value from the terminal: %w", err)
	}
	return coffer.Value(b), nil
}

// readLine prompts on stderr and reads one line from stdin, echoed: for
// confirmations, never for values.
func (a *app) readLine(prompt string) (string, error) {
	fmt.Fprint(a.stderr, prompt)
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		if !isTerminal(a.stdin) {
			fmt.Fprintln(a.stderr)
		}
		return "", err
	}
	if !isTerminal(a.stdin) {
		fmt.Fprintln(a.stderr) // what was typed is not echoed from a pipe
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// progress reports a long job's progress on stderr: a bar on a terminal,
// plain lines otherwise.
type progress struct {
	bar   *progressbar.ProgressBar // nil: plain lines
	plain io.Writer
}

func (a *app) newProgress(total int, what string) *progress {
	if !isTerminal(a.stderr) {
		return &progress{plain: a.stderr}
	}
	return &progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(0),
		progressbar.OptionClearOnFinish(),
	)}
}

// set moves the bar to done; line is what a plain report prints.
func (p *progress) set(done int, line string) {
	if p.bar == nil {
		if line != "" {
			fmt.Fprintln(p.plain, line)
		}
		return
	}
	_ = p.bar.Set(done)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
