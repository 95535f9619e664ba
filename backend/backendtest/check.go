package backendtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// testCheck runs Check over two environments on the backend: its listing
// (a projection without layout.Record's full field set, with and without
// the envelope) reads what every kind needs on every store.
func testCheck(t *testing.T, h Harness) {
	now := FixedNow
	e := newEnv(t, h, &coffer.Options{Environment: "production", Now: func() time.Time { return now }})
	ctx := context.Background()
	staging := must(t)(e.m.Environment("staging"))
	strong := func() coffer.Value {
		v, err := coffer.Generate(32)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	create := func(m *coffer.Manager, s coffer.NewSecret) {
		t.Helper()
		if _, err := m.Create(ctx, s); err != nil {
			t.Fatalf("Create(%s): %v", s.Key, err)
		}
	}
	now = FixedNow.AddDate(0, 0, -100)
	create(e.m, coffer.NewSecret{Key: "OLD_TOKEN", Value: strong(), Description: "d"})
	now = FixedNow
	create(e.m, coffer.NewSecret{Key: "DB_PASSWORD", Value: "hunter2"})
	create(staging, coffer.NewSecret{Key: "DB_PASSWORD", Value: "hunter2", Description: "d"})
	create(e.m, coffer.NewSecret{Key: "api_key", Value: strong(), Description: "d"})
	create(e.m, coffer.NewSecret{Key: "API_KEY", Value: strong(), Description: "d"})
	create(staging, coffer.NewSecret{Key: "API_KEY", Value: strong(), Description: "d"})
	create(staging, coffer.NewSecret{Key: "OLD_TOKEN", Value: strong(), Description: "d"})
	create(staging, coffer.NewSecret{Key: "api_key", Value: strong(), Description: "d"})

	type finding struct{ Env, Key, Kind string }
	run := func(opts *coffer.CheckOptions) []finding {
		t.Helper()
		fs, err := e.m.Check(ctx, opts)
		if err != nil {
			t.Fatalf("Check(%+v): %v", opts, err)
		}
		out := []finding{}
		for _, f := range fs {
			if f.Message == "" {
				t.Errorf("finding without a message: %+v", f)
			}
			out = append(out, finding{f.Environment, f.Key, string(f.Kind)})
		}
		return out
	}
	both := []string{"production", "staging"}
	want := []finding{
		{"production", "API_KEY", "similar_key"},
		{"production", "DB_PASSWORD", "no_description"},
		{"production", "DB_PASSWORD", "shared_value"},
		{"production", "DB_PASSWORD", "weak_value"},
		{"production", "OLD_TOKEN", "not_rotated"},
		{"production", "api_key", "naming"},
		{"production", "api_key", "similar_key"},
		{"staging", "API_KEY", "similar_key"},
		{"staging", "DB_PASSWORD", "shared_value"},
		{"staging", "DB_PASSWORD", "weak_value"},
		{"staging", "api_key", "naming"},
		{"staging", "api_key", "similar_key"},
	}
	if diff := cmp.Diff(want, run(&coffer.CheckOptions{Environments: both})); diff != "" {
		t.Errorf("Check of two environments (-want +got):\n%s", diff)
	}
	// Without the value kinds the listing leaves the envelope out.
	metadata := []coffer.FindingKind{coffer.FindingNotRotated, coffer.FindingNoDescription, coffer.FindingNaming, coffer.FindingSimilarKey, coffer.FindingMissing}
	want = []finding{
		{"production", "API_KEY", "similar_key"},
		{"production", "DB_PASSWORD", "no_description"},
		{"production", "OLD_TOKEN", "not_rotated"},
		{"production", "api_key", "naming"},
		{"production", "api_key", "similar_key"},
	}
	if diff := cmp.Diff(want, run(&coffer.CheckOptions{Kinds: metadata})); diff != "" {
		t.Errorf("metadata Check of production (-want +got):\n%s", diff)
	}
}
