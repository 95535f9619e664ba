package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The secrets win over inherited variables; the keeper URLs never reach
// the program.
func TestChildEnv(t *testing.T) {
	got := childEnv(
		[]string{"PATH=/bin", "API_TOKEN=inherited", "COFFER_KEEPER_URL=base64key://k", "COFFER_NEW_KEEPER_URL=x", "COFFER_ENV=prod", "EMPTY="},
		[]string{"API_TOKEN=secret", "DATABASE_URL=postgres://db"},
	)
	want := []string{"PATH=/bin", "COFFER_ENV=prod", "EMPTY=", "API_TOKEN=secret", "DATABASE_URL=postgres://db"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("childEnv (-want +got):\n%s", diff)
	}
}
