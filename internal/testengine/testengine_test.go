package testengine

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// calls records what Env asked of its test.
type calls struct {
	Skipf, Fatalf string
}

// recorder stands in for a test so that Env's Skipf and Fatalf can be
// observed instead of ending the real test.
type recorder struct {
	testing.TB
	got calls
}

func (r *recorder) Skipf(format string, args ...any)  { r.got.Skipf = fmt.Sprintf(format, args...) }
func (r *recorder) Fatalf(format string, args ...any) { r.got.Fatalf = fmt.Sprintf(format, args...) }

func TestEnv(t *testing.T) {
	const name = "COFFER_TESTENGINE_PROBE"
	const msg = name + " is not set: start the engines with `bash scripts/engines.sh start` and source .engines.env"
	tests := []struct {
		desc, value, ci string
		wantValue       string
		wantCalls       calls
	}{
		{desc: "set outside CI", value: "http://127.0.0.1:1", wantValue: "http://127.0.0.1:1"},
		{desc: "set in CI", value: "http://127.0.0.1:1", ci: "true", wantValue: "http://127.0.0.1:1"},
		{desc: "missing outside CI skips", wantCalls: calls{Skipf: msg}},
		{desc: "missing with CI=false skips", ci: "false", wantCalls: calls{Skipf: msg}},
		{desc: "missing in CI fails", ci: "true", wantCalls: calls{Fatalf: msg}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			t.Setenv(name, tt.value)
			t.Setenv("CI", tt.ci)
			r := &recorder{TB: t}
			if got := Env(r, name); got != tt.wantValue {
				t.Errorf("Env = %q, want %q", got, tt.wantValue)
			}
			if diff := cmp.Diff(tt.wantCalls, r.got); diff != "" {
				t.Errorf("Skipf/Fatalf calls (-want +got):\n%s", diff)
			}
		})
	}
}
