package coffer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/keepertest"
	"github.com/coffer-go/coffer/internal/layout"
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: fixedNow} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fill creates n secrets in each of the given project/environment pairs
// and returns the values by ID.
func fill(t *testing.T, m *coffer.Manager, places [][2]string, n int) map[string]string {
	t.Helper()
	values := map[string]string{}
	for _, pe := range places {
		pm, err := m.Project(pe[0])
		if err != nil {
			t.Fatal(err)
		}
		em, err := pm.Environment(pe[1])
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			key := fmt.Sprintf("KEY_%02d", i)
			v := fmt.Sprintf("value %d of %s/%s", i, pe[0], pe[1])
			mustCreate(t, em, key, v)
			values[layout.ID(pe[0], pe[1], key)] = v
		}
	}
	return values
}

// revealAll checks that every secret of values reveals its value through m
// (any Manager over the collection).
func revealAll(t *testing.T, m *coffer.Manager, values map[string]string) {
	t.Helper()
	for id, want := range values {
		parts := strings.SplitN(id, "/", 3)
		pm, err := m.Project(parts[0])
		if err != nil {
			t.Fatal(err)
		}
		em, err := pm.Environment(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		got, err := em.Reveal(context.Background(), parts[2])
		if err != nil || string(got) != want {
			t.Errorf("Reveal %s = %q, %v; want %q", id, string(got), err, want)
		}
	}
}

// withoutSealed drops the fields Reseal may change from a snapshot.
func withoutSealed(snap map[string]map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, doc := range snap {
		d := map[string]any{}
		for k, v := range doc {
			if k != "Sealed" && k != "DocstoreRevision" {
				d[k] = v
			}
		}
		out[id] = d
	}
	return out
}

var places = [][2]string{{"shop", "production"}, {"shop", "staging"}, {"blog", "production"}, {"default", "default"}}

// TestResealEveryProject: after RotateDataKey and Reseal, no record of any
// project or environment is sealed under the old key, every value still
// reads, nothing but Sealed changed, and progress went up to the total.
func TestResealEveryProject(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	values := fill(t, e.m, places, 5) // 20 records
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	before := backendtest.Snapshot(t, e.coll)
	var calls [][2]int
	stats, err := e.m.Reseal(ctx, &coffer.ResealOptions{BatchSize: 7, Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 20, Resealed: 20}, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][2]int{{0, 20}, {7, 20}, {14, 20}, {20, 20}}, calls); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[uint32]int{2: 20}, keepertest.CountKeys(keepertest.KeyIDs(t, e.coll))); diff != "" {
		t.Errorf("records per data key (-want +got):\n%s", diff)
	}
	after := backendtest.Snapshot(t, e.coll)
	if diff := cmp.Diff(withoutSealed(before), withoutSealed(after)); diff != "" {
		t.Errorf("Reseal changed more than Sealed (-before +after):\n%s", diff)
	}
	for id, doc := range after {
		for _, v := range values {
			if b, ok := doc["Sealed"].([]byte); ok && strings.Contains(string(b), v) {
				t.Errorf("%s holds a value in clear", id)
			}
		}
	}
	revealAll(t, e.m, values)
	// A Manager that never saw key 1 reads everything with one unwrap.
	fresh, err := coffer.New(e.coll, e.keeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	revealAll(t, fresh, values)

	again, err := e.m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 20, Skipped: 20}, again); diff != "" {
		t.Errorf("second Reseal (-want +got):\n%s", diff)
	}
}

// TestResealResume: a Reseal cancelled from its progress callback stops
// after the batch in hand; running it again finishes the job.
func TestResealResume(t *testing.T) {
	e := newEnv(t, nil)
	values := fill(t, e.m, places[:2], 5) // 10 records
	if err := e.m.RotateDataKey(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stats, err := e.m.Reseal(ctx, &coffer.ResealOptions{BatchSize: 3, Progress: func(done, total int) {
		if done > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Reseal: %v, want context.Canceled", err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 10, Resealed: 3}, stats); diff != "" {
		t.Errorf("interrupted stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[uint32]int{1: 7, 2: 3}, keepertest.CountKeys(keepertest.KeyIDs(t, e.coll))); diff != "" {
		t.Errorf("records per data key after the interruption (-want +got):\n%s", diff)
	}
	stats, err = e.m.Reseal(context.Background(), &coffer.ResealOptions{BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 10, Resealed: 7, Skipped: 3}, stats); diff != "" {
		t.Errorf("rerun stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[uint32]int{2: 10}, keepertest.CountKeys(keepertest.KeyIDs(t, e.coll))); diff != "" {
		t.Errorf("records per data key after the rerun (-want +got):\n%s", diff)
	}
	revealAll(t, e.m, values)
}

// TestResealConcurrentUpdate: an Update landing between Reseal's read and
// its write is kept: Reseal's write fails on the revision, and it re-reads
// and re-seals the new value.
func TestResealConcurrentUpdate(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	values := fill(t, e.m, places[:1], 4)
	// writer loaded the keyring before the rotation: its Update seals under
	// key 1, so the record needs re-sealing again after the conflict.
	writer, err := coffer.New(e.coll, e.keeper, &coffer.Options{Project: "shop", Environment: "production", Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Reveal(ctx, "KEY_00"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	updated := false
	restore := coffer.SetResealBeforeWrite(func() {
		if updated {
			return
		}
		updated = true
		if _, err := writer.Update(ctx, "KEY_02", coffer.Change{Value: "changed during reseal"}); err != nil {
			t.Errorf("concurrent Update: %v", err)
		}
	})
	defer restore()
	stats, err := e.m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 4, Resealed: 4, Retried: 1}, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	values["shop/production/KEY_02"] = "changed during reseal"
	revealAll(t, e.m, values)
	// writer, which has not seen the rotation, kept KEY_02's first value
	// as a version under key 1 after Reseal had listed the store: as its
	// doc says, a Reseal run RefreshInterval after the rotation (or a
	// second run) picks up what such writers wrote.
	if diff := cmp.Diff(map[uint32]int{1: 1, 2: 4}, keepertest.CountKeys(keepertest.KeyIDs(t, e.coll))); diff != "" {
		t.Errorf("documents per data key (-want +got):\n%s", diff)
	}
	again, err := e.m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 5, Resealed: 1, Skipped: 4}, again); diff != "" {
		t.Errorf("second Reseal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[uint32]int{2: 5}, keepertest.CountKeys(keepertest.KeyIDs(t, e.coll))); diff != "" {
		t.Errorf("documents per data key after a second Reseal (-want +got):\n%s", diff)
	}
	if s, err := e.m.Project("shop"); err != nil {
		t.Fatal(err)
	} else if em, err := s.Environment("production"); err != nil {
		t.Fatal(err)
	} else if sec, err := em.Get(ctx, "KEY_02"); err != nil || sec.Version != 2 {
		t.Errorf("KEY_02 version %d, %v; want 2", sec.Version, err)
	}
}

// TestResealRacingUpdates: Updates running all through a Reseal are all
// kept (each key ends with the last value written to it).
func TestResealRacingUpdates(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	values := fill(t, e.m, places[3:], 30)
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	last := map[string]string{}
	var mu sync.Mutex
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				// Each worker owns ten keys, so a key's last value is
				// its worker's last write.
				key := fmt.Sprintf("KEY_%02d", w*10+round%10)
				v := fmt.Sprintf("worker %d round %d", w, round)
				if _, err := e.m.Update(ctx, key, coffer.Change{Value: coffer.Value(v)}); err != nil {
					t.Errorf("Update %s: %v", key, err)
					return
				}
				mu.Lock()
				last["default/default/"+key] = v
				mu.Unlock()
			}
		}()
	}
	if _, err := e.m.Reseal(ctx, &coffer.ResealOptions{BatchSize: 4}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for id, v := range last {
		values[id] = v
	}
	revealAll(t, e.m, values)
	// 30 records and, with each key updated twice, its first two values
	// kept as versions: every one under the new key.
	if diff := cmp.Diff(map[uint32]int{2: 30 + 60}, keepertest.CountKeys(keepertest.KeyIDs(t, e.coll))); diff != "" {
		t.Errorf("documents per data key (-want +got):\n%s", diff)
	}
}

// TestResealUndecryptable: a record whose value cannot be opened is left as
// it is and named in an ErrDecrypt; the others are re-sealed.
func TestResealUndecryptable(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "GOOD", "good value")
	mustCreate(t, e.m, "BAD", "bad value")
	mustCreate(t, e.m, "OTHER", "other value")
	copySealed(t, e.coll, "default/default/OTHER", "default/default/BAD")
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	badBefore := backendtest.Snapshot(t, e.coll)["default/default/BAD"]
	stats, err := e.m.Reseal(ctx, nil)
	if !errors.Is(err, coffer.ErrDecrypt) || !strings.Contains(err.Error(), "default/default/BAD") {
		t.Errorf("Reseal: %v; want ErrDecrypt naming default/default/BAD", err)
	}
	if err != nil && (strings.Contains(err.Error(), "bad value") || strings.Contains(err.Error(), "other value")) {
		t.Errorf("Reseal's error holds a value: %v", err)
	}
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 3, Resealed: 2, Failed: 1}, stats); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(badBefore, backendtest.Snapshot(t, e.coll)["default/default/BAD"]); diff != "" {
		t.Errorf("the unreadable record changed (-before +after):\n%s", diff)
	}
	if v, err := e.m.Reveal(ctx, "GOOD"); err != nil || v != "good value" {
		t.Errorf("Reveal GOOD = %q, %v", string(v), err)
	}
}

func TestResealOptions(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.m, "KEY", "value")
	before := backendtest.Snapshot(t, e.coll)
	if _, err := e.m.Reseal(context.Background(), &coffer.ResealOptions{BatchSize: -1}); !errors.Is(err, coffer.ErrInvalidOptions) {
		t.Errorf("BatchSize -1: %v, want ErrInvalidOptions", err)
	}
	backendtest.Unchanged(t, e.coll, before)
}

// copySealed copies the raw Sealed field of one stored record onto another.
func copySealed(t *testing.T, coll *docstore.Collection, fromID, toID string) {
	t.Helper()
	ctx := context.Background()
	from, to := &layout.Record{ID: fromID}, &layout.Record{ID: toID}
	if err := coll.Get(ctx, from); err != nil {
		t.Fatal(err)
	}
	if err := coll.Get(ctx, to); err != nil {
		t.Fatal(err)
	}
	to.Sealed = from.Sealed
	if err := coll.Replace(ctx, to); err != nil {
		t.Fatal(err)
	}
}

// TestChangeKeeper: after ChangeKeeper, a Manager holding only the new
// keeper reads every secret and one holding only the old keeper cannot; no
// secret record changed; the moved Manager wraps new data keys with the new
// keeper.
func TestChangeKeeper(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	values := fill(t, e.m, places, 3)
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	more := fill(t, e.m, [][2]string{{"later", "production"}}, 2)
	for id, v := range more {
		values[id] = v
	}
	newLocal := coffertest.RandomKeeper(t)
	defer newLocal.Close()
	counter := cryptotest.NewCountingKeeper(newLocal)
	newKeeper := counter.Keeper()
	secretsBefore := backendtest.Snapshot(t, e.coll)
	delete(secretsBefore, layout.KeyringID)
	if err := e.m.ChangeKeeper(ctx, newKeeper); err != nil {
		t.Fatal(err)
	}
	// Per data key: one Encrypt by the new keeper, and one Decrypt to prove
	// it gives the key back.
	if got := [2]int{counter.Encrypts(), counter.Decrypts()}; got != [2]int{2, 2} {
		t.Errorf("ChangeKeeper of 2 data keys: %d Encrypt and %d Decrypt calls by the new keeper, want 2 and 2", got[0], got[1])
	}
	after := backendtest.Snapshot(t, e.coll)
	delete(after, layout.KeyringID)
	if diff := cmp.Diff(secretsBefore, after); diff != "" {
		t.Errorf("ChangeKeeper touched secret records (-before +after):\n%s", diff)
	}
	onlyNew, err := coffer.New(e.coll, newKeeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	revealAll(t, onlyNew, values)
	onlyOld, err := coffer.New(e.coll, e.keeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onlyOld.Reveal(ctx, "KEY_00"); !errors.Is(err, coffer.ErrDecrypt) {
		t.Errorf("Reveal with only the old keeper: %v, want ErrDecrypt", err)
	}
	if err := onlyOld.RotateDataKey(ctx); err == nil {
		t.Error("RotateDataKey with only the old keeper succeeded")
	}
	// The moved Manager wraps its next data key with the new keeper.
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.m, "UNDER_KEY_3", "sealed under key 3")
	values["default/default/UNDER_KEY_3"] = "sealed under key 3"
	cold, err := coffer.New(e.coll, newKeeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	revealAll(t, cold, values)
	if err := e.m.ChangeKeeper(ctx, nil); !errors.Is(err, coffer.ErrInvalidOptions) {
		t.Errorf("ChangeKeeper(nil): %v, want ErrInvalidOptions", err)
	}
}
