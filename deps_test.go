package coffer_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestRootLinksNoCloudDrivers: importing coffer links memdocstore and
// localsecrets only. MongoDB, AWS and Firestore drivers (and their large
// dependency trees) come in only when a program imports them itself, or a
// helper package such as backend/dynamostore.
func TestRootLinksNoCloudDrivers(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the go command is not on PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps .: %v", err)
	}
	deps := strings.Fields(string(out))
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
