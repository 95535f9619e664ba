package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMutationsApply keeps the table in step with the code: every edit's
// text occurs exactly once in its file (so a refactoring that moves it
// shows here, in go test, not only when the script runs), names are unique
// and every cited package exists.
func TestMutationsApply(t *testing.T) {
	root := filepath.Join("..", "..")
	names := map[string]bool{}
	quick := 0
	for _, m := range mutations {
		if names[m.Name] {
			t.Errorf("two mutations are named %s", m.Name)
		}
		names[m.Name] = true
		if m.Claim == "" || m.Break == "" || len(m.Edits) == 0 || len(m.Tests) == 0 {
			t.Errorf("%s: claim, break, edits and tests are all required", m.Name)
		}
		if m.Quick {
			quick++
		}
		// Edits apply in order, so check them on the text as it evolves.
		files := map[string][]byte{}
		for _, e := range m.Edits {
			data, ok := files[e.File]
			if !ok {
				var err error
				if data, err = os.ReadFile(filepath.Join(root, filepath.FromSlash(e.File))); err != nil {
					t.Errorf("%s: %v", m.Name, err)
					continue
				}
			}
			if n := bytes.Count(data, []byte(e.Old)); n != 1 {
				t.Errorf("%s: %s holds the text to mutate %d times, want once: %q", m.Name, e.File, n, e.Old)
				continue
			}
			files[e.File] = bytes.Replace(data, []byte(e.Old), []byte(e.New), 1)
		}
		for _, ref := range m.Tests {
			if info, err := os.Stat(filepath.Join(root, filepath.FromSlash(ref.Pkg))); err != nil || !info.IsDir() {
				t.Errorf("%s: cited package %s does not exist", m.Name, ref.Pkg)
			}
			if !strings.HasPrefix(ref.Run, "^") {
				t.Errorf("%s: -run pattern %q is not anchored", m.Name, ref.Run)
			}
		}
	}
	if quick == 0 || quick == len(mutations) {
		t.Errorf("%d of %d mutations are quick; the CI subset should be a proper subset", quick, len(mutations))
	}
}

// TestApplyRestores: apply edits a copy and restore puts it back; an edit
// whose text is missing or repeated changes nothing.
func TestApplyRestores(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.go")
	orig := "a := 1\nb := 2\nb := 2\n"
	if err := os.WriteFile(path, []byte(orig), 0o644); err != nil {
		t.Fatal(err)
	}
	restore, err := apply(dir, []edit{{"f.go", "a := 1", "a := 9"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "a := 9\nb := 2\nb := 2\n" {
		t.Errorf("mutated file = %q", got)
	}
	restore()
	if got, _ := os.ReadFile(path); string(got) != orig {
		t.Errorf("restored file = %q", got)
	}
	for _, bad := range []edit{{"f.go", "b := 2", "b := 3"}, {"f.go", "c := 3", "c := 4"}} {
		if _, err := apply(dir, []edit{{"f.go", "a := 1", "a := 9"}, bad}); err == nil {
			t.Errorf("apply of %q succeeded", bad.Old)
		}
		if got, _ := os.ReadFile(path); string(got) != orig {
			t.Errorf("a failed apply left %q", got)
		}
	}
}

// TestLeaves keeps the most precise failing test names.
func TestLeaves(t *testing.T) {
	got := leaves([]string{"TestA", "TestA/x", "TestA/x/y", "TestB", "TestAB"})
	want := []string{"TestA/x/y", "TestAB", "TestB"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("leaves = %v, want %v", got, want)
	}
}

// TestSecurityListsTheMutations: SECURITY.md's Evidence section holds the
// table `scripts/mutate -list -md` prints, so the page names exactly the
// claims, tests and mutations the script checks.
func TestSecurityListsTheMutations(t *testing.T) {
	page, err := os.ReadFile(filepath.Join("..", "..", "SECURITY.md"))
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	printTable(&table, mutations)
	if !bytes.Contains(page, table.Bytes()) {
		t.Errorf("SECURITY.md does not hold the current table of mutations; paste the output of `scripts/mutate -list -md` into its Evidence section:\n%s", table.String())
	}
}
