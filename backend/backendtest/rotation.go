package backendtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
)

// testConcurrentManagersShareKeyring: Managers starting cold on one
// collection at once agree on a single keyring.
func testConcurrentManagersShareKeyring(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := coffer.New(e.coll, e.keeper, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer m.Close()
			if _, err := m.Create(ctx, coffer.NewSecret{Key: fmt.Sprint("K", i), Value: "v"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 8 {
		wantReveal(t, e.m, fmt.Sprint("K", i), "v")
	}
	kr := layout.NewKeyringRecord()
	if err := e.coll.Get(ctx, kr); err != nil {
		t.Fatal(err)
	}
	if len(kr.Keys) != 1 || kr.Active != 1 {
		t.Errorf("keyring has %d keys, active %d; want one key, active 1", len(kr.Keys), kr.Active)
	}
}

// keyIDOf returns the data-key id a stored secret is sealed under.
func keyIDOf(t *testing.T, e *env, key string) uint32 {
	t.Helper()
	rec := layout.NewRecord(coffer.DefaultName, coffer.DefaultName, key)
	if err := e.coll.Get(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	env, err := crypto.Parse(rec.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	return env.KeyID
}

// testRotateDataKey: rotation adds a data key that seals new values while
// old values still open; racing rotations (revision-checked keyring
// writes) both land.
func testRotateDataKey(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	other := e.other(t, nil)
	mustCreate(t, e.m, "OLD", "sealed under key 1")
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.m, "NEW", "sealed under key 2")
	if got := [2]uint32{keyIDOf(t, e, "OLD"), keyIDOf(t, e, "NEW")}; got != [2]uint32{1, 2} {
		t.Errorf("key ids %v, want [1 2]", got)
	}
	// other loaded the keyring before the rotation; meeting key 2 reloads it.
	for _, m := range []*coffer.Manager{e.m, other} {
		wantReveal(t, m, "OLD", "sealed under key 1")
		wantReveal(t, m, "NEW", "sealed under key 2")
	}
	// Rotations from two Managers at once both land: neither overwrites
	// the other's new key.
	done := make(chan error, 2)
	for _, m := range []*coffer.Manager{e.m, other} {
		go func() { done <- m.RotateDataKey(ctx) }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	kr := layout.NewKeyringRecord()
	if err := e.coll.Get(ctx, kr); err != nil {
		t.Fatal(err)
	}
	if len(kr.Keys) != 4 || kr.Active != 4 {
		t.Errorf("keyring has %d keys, active %d; want 4 and 4", len(kr.Keys), kr.Active)
	}
	fresh := e.other(t, nil)
	if _, err := fresh.Update(ctx, "OLD", coffer.Change{Value: "now under key 4"}); err != nil {
		t.Fatal(err)
	}
	if id := keyIDOf(t, e, "OLD"); id != 4 {
		t.Errorf("updated value sealed under key %d, want 4", id)
	}
	wantReveal(t, e.m, "OLD", "now under key 4")
}

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
