package backendtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
)

// testRotateAndReseal: after RotateDataKey, Reseal moves every record of
// every project and environment to the new data key, in batches, with
// progress; a rerun has nothing left to do; every value still opens, also
// for a Manager starting cold. On DynamoDB this exercises the whole-table
// scan the layout allows.
func testRotateAndReseal(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	type place struct{ project, environment, key string }
	want := map[place]coffer.Value{}
	for _, project := range []string{coffer.DefaultName, "shop"} {
		for _, environment := range []string{coffer.DefaultName, "production"} {
			m, err := e.m.Project(project)
			if err == nil {
				m, err = m.Environment(environment)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				p := place{project, environment, fmt.Sprintf("KEY_%d", i)}
				v := coffer.Value(fmt.Sprintf("%s-%s-%s-%d", canary, project, environment, i))
				mustCreate(t, m, p.key, string(v))
				want[p] = v
			}
		}
	}
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	var progress [][2]int
	stats, err := e.m.Reseal(ctx, &coffer.ResealOptions{BatchSize: 7, Progress: func(done, total int) {
		progress = append(progress, [2]int{done, total})
	}})
	if err != nil {
		t.Fatalf("Reseal: %v", err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 20, Resealed: 20}, stats); diff != "" {
		t.Errorf("Reseal stats (-want +got):\n%s", diff)
	}
	if len(progress) == 0 || progress[len(progress)-1] != [2]int{20, 20} {
		t.Errorf("progress %v, want it to end at [20 20]", progress)
	}
	cold, err := coffer.New(e.coll, e.keeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cold.Close() })
	for p, v := range want {
		rec := layout.NewRecord(p.project, p.environment, p.key)
		if err := e.coll.Get(ctx, rec); err != nil {
			t.Fatalf("read %s/%s/%s: %v", p.project, p.environment, p.key, err)
		}
		env, err := crypto.Parse(rec.Sealed)
		if err != nil || env.KeyID != 2 {
			t.Errorf("%s/%s/%s sealed under key %d (%v), want 2", p.project, p.environment, p.key, env.KeyID, err)
		}
		if strings.Contains(string(rec.Sealed), canary) {
			t.Errorf("%s/%s/%s stores its value in clear", p.project, p.environment, p.key)
		}
		m, err := cold.Project(p.project)
		if err == nil {
			m, err = m.Environment(p.environment)
		}
		if err != nil {
			t.Fatal(err)
		}
		wantReveal(t, m, p.key, v)
	}
	again, err := e.m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 20, Skipped: 20}, again); diff != "" {
		t.Errorf("second Reseal (-want +got):\n%s", diff)
	}
}
