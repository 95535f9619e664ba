package coffer_test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// goListDeps returns what `go list -deps .` prints: every package the root
// package links. Without a working go command the test cannot look: it
// skips, except under CI=true, where it fails.
func goListDeps(t *testing.T) []string {
	t.Helper()
	cannot := t.Skipf
	if os.Getenv("CI") == "true" {
		cannot = t.Fatalf
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		cannot("the go command is not on PATH: %v", err)
		return nil
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New(strings.TrimSpace(string(ee.Stderr)))
		}
		cannot("go list -deps .: %v", err)
		return nil
	}
	return strings.Fields(string(out))
}

// TestRootLinksNoCloudDrivers: importing coffer links memdocstore and
// localsecrets only. MongoDB, AWS and Firestore drivers (and their large
// dependency trees) come in only when a program imports them itself, or a
// helper package such as backend/dynamostore.
func TestRootLinksNoCloudDrivers(t *testing.T) {
	deps := goListDeps(t)
	cloud := regexp.MustCompile(`mongo|aws|firestore`)
	have := map[string]bool{}
	for _, d := range deps {
		have[d] = true
		if cloud.MatchString(d) {
			t.Errorf("the root package links %s", d)
		}
	}
	// The list is the real one: it holds the drivers coffer does link.
	for _, want := range []string{"gocloud.dev/docstore/memdocstore", "gocloud.dev/secrets/localsecrets"} {
		if !have[want] {
			t.Errorf("go list -deps . does not show %s; the check above may be looking at the wrong list", want)
		}
	}
}

// TestGoModNamesNoTestOnlyClients: the library's go.mod requires only what
// an importer of coffer builds with. The browser driver and Vault's client
// are needed only by tests, which live in nested modules of their own
// (examples/server/e2e, internal/vaulttest); a test that imports one of
// them in this module would bring it back into go.mod at the next
// `go mod tidy`, and into every importer's go.sum.
func TestGoModNamesNoTestOnlyClients(t *testing.T) {
	goMod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	required := map[string]bool{}
	for _, line := range strings.Split(string(goMod), "\n") {
		line = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if f := strings.Fields(line); len(f) >= 2 && strings.HasPrefix(f[1], "v") {
			required[f[0]] = true
		}
	}
	// The parse is the real one: it finds what coffer does require.
	for _, want := range []string{"gocloud.dev", "modernc.org/sqlite"} {
		if !required[want] {
			t.Fatalf("go.mod does not seem to require %s; the parse above is wrong", want)
		}
	}
	for _, mod := range []string{
		"github.com/chromedp/chromedp",
		"github.com/chromedp/cdproto",
		"github.com/hashicorp/vault/api",
		"gocloud.dev/secrets/hashivault",
	} {
		if required[mod] {
			t.Errorf("go.mod requires %s, which only tests need: move the test that imports it to a nested module", mod)
		}
	}
}
