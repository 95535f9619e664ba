// Command mutate checks that the tests cited for coffer's claims can fail:
// for each claim of SECURITY.md's "What coffer guarantees" and README's
// rules table it applies a small mutation that breaks the property to a
// scratch copy of the module (never the working tree), runs the cited
// tests there, and reports CAUGHT when every cited test fails, MISSED when
// one still passes. Before any mutation, the cited tests must pass on the
// unmutated copy.
//
// Usage (from the module root; scripts/mutate wraps it):
//
//	go run ./internal/mutate [-quick] [-run REGEXP] [-list [-md]] [-keep] [-v]
//
// -quick runs the subset marked for CI (a few minutes on two cores);
// without it every mutation runs. It exits with status 1 when a mutation is
// missed or cannot be checked (it does not apply, the mutant does not build,
// a cited test fails or skips unmutated).
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "run only the mutations marked for CI")
	run := flag.String("run", "", "run only the mutations whose name matches this regular expression")
	list := flag.Bool("list", false, "list the mutations and the tests they cite, and exit")
	markdown := flag.Bool("md", false, "with -list: as the Markdown table of SECURITY.md's Evidence section")
	keep := flag.Bool("keep", false, "keep the scratch copy (its path is printed)")
	verbose := flag.Bool("v", false, "print the output of every go test run")
	flag.Parse()

	selected, err := selectMutations(mutations, *quick, *run)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	if *list && *markdown {
		printTable(os.Stdout, selected)
		return
	}
	if *list {
		printList(os.Stdout, selected)
		return
	}
	root, err := moduleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	ok, err := runAll(root, selected, *keep, *verbose)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mutate:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

// selectMutations returns the mutations to run, in table order.
func selectMutations(all []mutation, quick bool, pattern string) ([]mutation, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("-run: %v", err)
	}
	var out []mutation
	for _, m := range all {
		if (quick && !m.Quick) || !re.MatchString(m.Name) {
			continue
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("no mutation selected")
	}
	return out, nil
}

func printList(w io.Writer, ms []mutation) {
	for _, m := range ms {
		quick := ""
		if m.Quick {
			quick = " (quick)"
		}
		fmt.Fprintf(w, "%s%s\n  claim: %s\n  break: %s\n", m.Name, quick, m.Claim, m.Break)
		for _, t := range m.Tests {
			fmt.Fprintf(w, "  test:  %s\n", t)
		}
	}
}

// printTable prints claim, cited tests and mutation as a Markdown table.
func printTable(w io.Writer, ms []mutation) {
	fmt.Fprintln(w, "| claim | tests that must fail | mutation (`scripts/mutate -run NAME`) |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, m := range ms {
		tests := make([]string, len(m.Tests))
		for i, t := range m.Tests {
			tests[i] = "`" + t.String() + "`"
		}
		quick := ""
		if m.Quick {
			quick = " (quick)"
		}
		fmt.Fprintf(w, "| %s | %s | `%s`%s: %s |\n", cell(m.Claim), strings.Join(tests, ", "), m.Name, quick, cell(m.Break))
	}
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run from inside the coffer module")
	}
	return filepath.Dir(gomod), nil
}

// status is the outcome of one mutation.
type status string

const (
	caught status = "CAUGHT"
	missed status = "MISSED"
	broken status = "ERROR"
)

// outcome is one row of the report.
type outcome struct {
	m        mutation
	status   status
	detail   string   // why, for MISSED and ERROR
	caughtBy []string // failing tests, for CAUGHT
	took     time.Duration
}

func runAll(root string, ms []mutation, keep, verbose bool) (bool, error) {
	start := time.Now()
	scratch, err := os.MkdirTemp("", "coffer-mutate-")
	if err != nil {
		return false, err
	}
	if keep {
		fmt.Fprintf(os.Stderr, "scratch copy: %s\n", scratch)
	} else {
		defer os.RemoveAll(scratch)
	}
	if err := copyTree(root, scratch); err != nil {
		return false, err
	}
	r := &runner{dir: scratch, verbose: verbose}

	// Every cited test must pass, and not skip, on the unmutated copy;
	// otherwise its failure under a mutation would prove nothing.
	var refs []testRef
	seen := map[testRef]bool{}
	for _, m := range ms {
		for _, t := range m.Tests {
			if !seen[t] {
				seen[t] = true
				refs = append(refs, t)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "baseline: %d tests unmutated ...", len(refs))
	results, err := r.runRefs(refs)
	if err != nil {
		return false, fmt.Errorf("the unmutated copy does not build: %v", err)
	}
	baseline := map[testRef]string{}
	for _, t := range refs {
		res := results[t]
		switch {
		case len(res.failed) > 0 || !res.passed:
			baseline[t] = "fails unmutated: " + res.summary()
		case res.ran == 0:
			baseline[t] = "matches no test"
		case len(res.skipped) > 0:
			baseline[t] = "skips unmutated: " + strings.Join(res.skipped, ", ")
		}
	}
	fmt.Fprintf(os.Stderr, " %d bad (%s)\n", len(baseline), time.Since(start).Round(time.Second))
	for t, why := range baseline {
		fmt.Fprintf(os.Stderr, "  %s %s\n", t, why)
	}

	var outcomes []outcome
	for i, m := range ms {
		fmt.Fprintf(os.Stderr, "[%d/%d] %s ...", i+1, len(ms), m.Name)
		o := r.mutate(m, baseline)
		outcomes = append(outcomes, o)
		fmt.Fprintf(os.Stderr, " %s (%s)\n", o.status, o.took.Round(time.Second))
	}
	report(os.Stdout, outcomes, time.Since(start))
	for _, o := range outcomes {
		if o.status != caught {
			return false, nil
		}
	}
	return true, nil
}

// copyTree copies the files git knows of (tracked, or untracked and not
// ignored) from root to dst, so uncommitted work is checked too.
func copyTree(root, dst string) error {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %v", err)
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" {
			continue
		}
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

// runner runs go test in the scratch copy.
type runner struct {
	dir     string
	verbose bool
}

// mutate applies m, runs its tests and restores the files.
func (r *runner) mutate(m mutation, baseline map[testRef]string) outcome {
	start := time.Now()
	o := outcome{m: m}
	defer func() { o.took = time.Since(start) }()
	for _, t := range m.Tests {
		if why := baseline[t]; why != "" {
			o.status, o.detail = broken, fmt.Sprintf("%s %s", t, why)
			o.took = time.Since(start)
			return o
		}
	}
	restore, err := apply(r.dir, m.Edits)
	if err != nil {
		o.status, o.detail = broken, err.Error()
		o.took = time.Since(start)
		return o
	}
	defer restore()
	results, err := r.runRefs(m.Tests)
	if err != nil {
		o.status, o.detail = broken, "the mutant does not build: "+err.Error()
		o.took = time.Since(start)
		return o
	}
	var passed []string
	for _, t := range m.Tests {
		if res := results[t]; len(res.failed) == 0 {
			passed = append(passed, t.String())
		} else {
			o.caughtBy = append(o.caughtBy, leaves(res.failed)...)
		}
	}
	if len(passed) > 0 {
		o.status, o.detail = missed, "still passes: "+strings.Join(passed, ", ")
	} else {
		o.status = caught
	}
	o.took = time.Since(start)
	return o
}

// apply makes every edit, each of whose Old texts must occur exactly once in
// its file, and returns a function that restores the files.
func apply(dir string, edits []edit) (func(), error) {
	saved := map[string][]byte{}
	restore := func() {
		for path, data := range saved {
			_ = os.WriteFile(path, data, 0o644)
		}
	}
	for _, e := range edits {
		path := filepath.Join(dir, filepath.FromSlash(e.File))
		data, err := os.ReadFile(path)
		if err != nil {
			restore()
			return nil, err
		}
		if _, ok := saved[path]; !ok {
			saved[path] = data
		}
		if n := bytes.Count(data, []byte(e.Old)); n != 1 {
			restore()
			return nil, fmt.Errorf("%s: the text to mutate occurs %d times, want once: %q", e.File, n, e.Old)
		}
		data = bytes.Replace(data, []byte(e.Old), []byte(e.New), 1)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			restore()
			return nil, err
		}
	}
	return restore, nil
}

// testResult is what one run of a test binary said.
type testResult struct {
	passed  bool     // the binary exited 0
	ran     int      // tests that ran (subtests included)
	failed  []string // tests that failed
	skipped []string // tests that skipped
	output  string
}

func (r testResult) summary() string {
	lines := strings.Split(strings.TrimSpace(r.output), "\n")
	if len(lines) > 6 {
		lines = lines[len(lines)-6:]
	}
	return strings.Join(lines, " | ")
}

// build compiles the test binary of pkg in the scratch copy. It returns
// the binary's path, or the compiler's complaint.
func (r *runner) build(pkg string) (string, error) {
	name := strings.ReplaceAll(pkg, "/", "_")
	if pkg == "." {
		name = "coffer"
	}
	bin := filepath.Join(r.dir, ".mutate", name+".test")
	cmd := exec.Command("go", "test", "-c", "-o", bin, "./"+pkg)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go test -c ./%s: %v: %s", pkg, err, cell(string(out)))
	}
	return bin, nil
}

// resultLine is a test's verdict in -test.v output, at any nesting depth.
var resultLine = regexp.MustCompile(`^\s*--- (PASS|FAIL|SKIP): (\S+) \(`)

// runTests runs the tests of bin that t selects, in the package's
// directory, as go test would.
func (r *runner) runTests(bin string, t testRef) testResult {
	cmd := exec.Command(bin, "-test.count=1", "-test.v", "-test.timeout=10m", "-test.run", t.Run)
	cmd.Dir = filepath.Join(r.dir, filepath.FromSlash(t.Pkg))
	out, err := cmd.CombinedOutput()
	res := testResult{passed: err == nil, output: string(out)}
	for _, line := range strings.Split(res.output, "\n") {
		if strings.HasPrefix(line, "=== RUN ") {
			res.ran++
		}
		m := resultLine.FindStringSubmatch(line)
		switch {
		case m == nil:
		case m[1] == "FAIL":
			res.failed = append(res.failed, m[2])
		case m[1] == "SKIP":
			res.skipped = append(res.skipped, m[2])
		}
	}
	if !res.passed && len(res.failed) == 0 {
		// A crash or a timeout outside any test's verdict.
		res.failed = append(res.failed, fmt.Sprintf("(%s: %v)", t, err))
	}
	if r.verbose {
		fmt.Fprintf(os.Stderr, "\n--- %s -test.run %s\n%s", bin, t.Run, res.output)
	}
	return res
}

// runRefs builds each package of refs once and runs each ref; a package
// that does not build gives an error instead of results.
func (r *runner) runRefs(refs []testRef) (map[testRef]testResult, error) {
	bins := map[string]string{}
	out := map[testRef]testResult{}
	for _, t := range refs {
		bin, ok := bins[t.Pkg]
		if !ok {
			var err error
			if bin, err = r.build(t.Pkg); err != nil {
				return nil, err
			}
			bins[t.Pkg] = bin
		}
		out[t] = r.runTests(bin, t)
	}
	return out, nil
}

// leaves drops every failing test whose subtest failed too, keeping the
// most precise names.
func leaves(failed []string) []string {
	var out []string
	for _, f := range failed {
		parent := false
		for _, g := range failed {
			if strings.HasPrefix(g, f+"/") {
				parent = true
				break
			}
		}
		if !parent {
			out = append(out, f)
		}
	}
	sort.Strings(out)
	return out
}

// report prints the result table in Markdown, then a summary.
func report(w io.Writer, outs []outcome, took time.Duration) {
	fmt.Fprintln(w, "| mutation | claim | breaks it by | result | caught by |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	count := map[status]int{}
	for _, o := range outs {
		count[o.status]++
		what := strings.Join(shorten(o.caughtBy, 4), ", ")
		if o.status != caught {
			what = o.detail
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s | %s |\n", o.m.Name, o.m.Claim, o.m.Break, o.status, cell(what))
	}
	fmt.Fprintf(w, "\n%d mutations: %d caught, %d missed, %d errors (%s)\n",
		len(outs), count[caught], count[missed], count[broken], took.Round(time.Second))
}

// shorten lists at most n names, then how many more there are.
func shorten(names []string, n int) []string {
	if len(names) <= n {
		return names
	}
	return append(names[:n:n], fmt.Sprintf("%d more", len(names)-n))
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}
