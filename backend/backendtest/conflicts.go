package backendtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/gcerrors"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/layout"
)

// testStaleWritesAreConflicts: a Replace or Delete carrying a revision that
// is no longer current does not apply, and layout.IsConflict says so —
// whatever code the driver uses (mongodocstore answers a stale Replace with
// NotFound). The other classifications coffer relies on are checked too.
func testStaleWritesAreConflicts(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "K", "v1")
	newRec := func() *layout.Record { return layout.NewRecord(coffer.DefaultName, coffer.DefaultName, "K") }
	stale := newRec()
	if err := e.coll.Get(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Update(ctx, "K", coffer.Change{Description: ptr("fresh")}); err != nil {
		t.Fatal(err)
	}
	after := Snapshot(t, e.coll)

	r := *stale
	r.Description = "stale"
	err := e.coll.Replace(ctx, &r)
	t.Logf("stale Replace: code %v", gcerrors.Code(err))
	if !layout.IsConflict(err) {
		t.Errorf("stale Replace: %v (code %v); want a conflict", err, gcerrors.Code(err))
	}
	Unchanged(t, e.coll, after)

	d := *stale
	err = e.coll.Delete(ctx, &d)
	t.Logf("stale Delete: code %v", gcerrors.Code(err))
	if !layout.IsConflict(err) {
		t.Errorf("stale Delete: %v (code %v); want a conflict", err, gcerrors.Code(err))
	}
	Unchanged(t, e.coll, after)

	// A revision-checked write of a document deleted since the read is a
	// conflict too, and must not bring the document back.
	current := newRec()
	if err := e.coll.Get(ctx, current); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(ctx, "K"); err != nil {
		t.Fatal(err)
	}
	gone := Snapshot(t, e.coll)
	r = *current
	err = e.coll.Replace(ctx, &r)
	t.Logf("Replace of a deleted document: code %v", gcerrors.Code(err))
	if !layout.IsConflict(err) {
		t.Errorf("Replace of a deleted document: %v (code %v); want a conflict", err, gcerrors.Code(err))
	}
	// Deleting what is already gone may succeed (memdocstore) or conflict;
	// either way the document stays gone.
	d = *current
	err = e.coll.Delete(ctx, &d)
	t.Logf("Delete of a deleted document: code %v", gcerrors.Code(err))
	if err != nil && !layout.IsConflict(err) {
		t.Errorf("Delete of a deleted document: %v (code %v); want success or a conflict", err, gcerrors.Code(err))
	}
	Unchanged(t, e.coll, gone)

	// Get of a missing document and Create of a taken key.
	err = e.coll.Get(ctx, newRec())
	if !layout.IsNotFound(err) || layout.IsAlreadyExists(err) {
		t.Errorf("Get of a missing document: %v (code %v); want not found", err, gcerrors.Code(err))
	}
	mustCreate(t, e.m, "TAKEN", "v")
	rec := layout.NewRecord(coffer.DefaultName, coffer.DefaultName, "TAKEN")
	err = e.coll.Create(ctx, rec)
	if !layout.IsAlreadyExists(err) || layout.IsConflict(err) {
		t.Errorf("Create of a taken key: %v (code %v); want already exists", err, gcerrors.Code(err))
	}
}

// interferingClock returns a clock for a Manager under test and a way to
// arm it: the next time the Manager reads the clock, the armed function
// runs first. Update reads the clock between reading the record and writing
// it back, so the armed function's writes make that write stale.
func interferingClock() (clock func() time.Time, arm func(f func())) {
	var mu sync.Mutex
	var armed func()
	clock = func() time.Time {
		mu.Lock()
		f := armed
		armed = nil
		mu.Unlock()
		if f != nil {
			f()
		}
		return FixedNow
	}
	arm = func(f func()) {
		mu.Lock()
		defer mu.Unlock()
		armed = f
	}
	return clock, arm
}

// testUpdateRetriesAfterConflict: another writer lands between Update's
// read and its write; Update's write is stale, so it reads again and
// reapplies its change. Neither change is lost.
func testUpdateRetriesAfterConflict(t *testing.T, h Harness) {
	clock, arm := interferingClock()
	e := newEnv(t, h, &coffer.Options{Now: clock})
	ctx := context.Background()
	other := e.other(t, nil)
	if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "K", Value: "v1", Description: "d1"}); err != nil {
		t.Fatal(err)
	}

	// Our value change against their description change.
	var ran atomic.Int64
	arm(func() {
		ran.Add(1)
		if _, err := other.Update(ctx, "K", coffer.Change{Description: ptr("theirs")}); err != nil {
			t.Errorf("interfering Update: %v", err)
		}
	})
	got, err := e.m.Update(ctx, "K", coffer.Change{Value: "ours"})
	if err != nil {
		t.Fatalf("Update after a conflict: %v", err)
	}
	if ran.Load() != 1 {
		t.Fatalf("the interfering write ran %d times, want 1", ran.Load())
	}
	if got.Description != "theirs" || got.Version != 2 {
		t.Errorf("Update returned description %q, version %d; want theirs, 2", got.Description, got.Version)
	}
	wantReveal(t, other, "K", "ours")
	if s, err := other.Get(ctx, "K"); err != nil || s.Description != "theirs" || s.Version != 2 {
		t.Errorf("stored: %+v, %v; want description theirs, version 2", s, err)
	}

	// Our description change against their value change.
	arm(func() {
		ran.Add(1)
		if _, err := other.Update(ctx, "K", coffer.Change{Value: "their value"}); err != nil {
			t.Errorf("interfering Update: %v", err)
		}
	})
	got, err = e.m.Update(ctx, "K", coffer.Change{Description: ptr("our description")})
	if err != nil {
		t.Fatalf("Update after a conflict: %v", err)
	}
	if ran.Load() != 2 {
		t.Fatalf("the interfering write ran %d times in all, want 2", ran.Load())
	}
	if got.Description != "our description" || got.Version != 3 {
		t.Errorf("Update returned description %q, version %d; want our description, 3", got.Description, got.Version)
	}
	wantReveal(t, e.m, "K", "their value")
}

// testUpdateReportsPersistentConflict: when another writer lands before
// every attempt, Update gives up with ErrConflict — never ErrNotFound — and
// its change is not half applied. This also proves the interfering clock
// really lands between read and write, which the retry test relies on.
func testUpdateReportsPersistentConflict(t *testing.T, h Harness) {
	clock, arm := interferingClock()
	e := newEnv(t, h, &coffer.Options{Now: clock})
	ctx := context.Background()
	other := e.other(t, nil)
	if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "K", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var interfere func()
	interfere = func() {
		i := n.Add(1)
		if _, err := other.Update(ctx, "K", coffer.Change{Description: ptr(fmt.Sprint("theirs-", i))}); err != nil {
			t.Errorf("interfering Update: %v", err)
		}
		arm(interfere)
	}
	arm(interfere)
	_, err := e.m.Update(ctx, "K", coffer.Change{Value: "ours"})
	arm(nil)
	if !errors.Is(err, coffer.ErrConflict) || errors.Is(err, coffer.ErrNotFound) {
		t.Fatalf("Update that always loses: %v; want ErrConflict and not ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), `"K"`) {
		t.Errorf("conflict error does not name the key: %v", err)
	}
	if n.Load() < 2 {
		t.Errorf("Update gave up after %d attempts; want retries", n.Load())
	}
	wantReveal(t, other, "K", "v1")
	s, err := other.Get(ctx, "K")
	if want := fmt.Sprint("theirs-", n.Load()); err != nil || s.Version != 1 || s.Description != want {
		t.Errorf("stored %+v, %v; want version 1 and the last interfering description %q", s, err, want)
	}
}

// testUpdateOfDeletedSecret: a secret deleted between Update's read and its
// write is reported as not found, and the write does not bring it back.
func testUpdateOfDeletedSecret(t *testing.T, h Harness) {
	clock, arm := interferingClock()
	e := newEnv(t, h, &coffer.Options{Now: clock})
	ctx := context.Background()
	other := e.other(t, nil)
	mustCreate(t, e.m, "K", "v1")
	arm(func() {
		if err := other.Delete(ctx, "K"); err != nil {
			t.Errorf("interfering Delete: %v", err)
		}
	})
	_, err := e.m.Update(ctx, "K", coffer.Change{Value: "v2"})
	if !errors.Is(err, coffer.ErrNotFound) || errors.Is(err, coffer.ErrConflict) {
		t.Errorf("Update of a secret deleted meanwhile: %v; want ErrNotFound", err)
	}
	if _, ok := Snapshot(t, e.coll)[layout.ID(coffer.DefaultName, coffer.DefaultName, "K")]; ok {
		t.Error("the stale Update brought the deleted record back")
	}
}

// testDeleteRacesUpdates: a Delete racing a stream of Updates succeeds (its
// stale attempts are retried), and the updates then find nothing.
func testDeleteRacesUpdates(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	other := e.other(t, nil)
	mustCreate(t, e.m, "K", "v1")
	landed := make(chan struct{}, 1)
	done := make(chan error, 1)
	stop := make(chan struct{}) // closed when Delete has answered, so a failed Delete cannot leave the updates running forever
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil // the Get below checks the secret is gone
				return
			default:
			}
			_, err := other.Update(ctx, "K", coffer.Change{Description: ptr(fmt.Sprint("d", i))})
			if errors.Is(err, coffer.ErrNotFound) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			select {
			case landed <- struct{}{}:
			default:
			}
		}
	}()
	select {
	case <-landed:
	case err := <-done:
		t.Fatalf("Update before any delete: %v", err)
	}
	delErr := e.m.Delete(ctx, "K")
	close(stop)
	if delErr != nil {
		t.Errorf("Delete racing updates: %v", delErr)
	}
	if err := <-done; err != nil {
		t.Errorf("Update racing a delete: %v; want success or ErrNotFound", err)
	}
	if _, err := e.m.Get(ctx, "K"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
}

// maxAttempts bounds how often testConcurrentUpdatesLoseNothing retries
// one update after ErrConflict, coffer's documented "try again"; reaching
// it means writers starve, which fails the test.
const maxAttempts = 1000

// testConcurrentUpdatesLoseNothing: goroutines update the value and the
// description of one secret at once, each retrying an update that gave up
// with ErrConflict (which must have changed nothing) until it lands. Every
// update lands exactly once: Version counts every value update, and the
// final value and description are each the last one some writer wrote (the
// last write of all is its writer's last).
func testConcurrentUpdatesLoseNothing(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "COUNTER", "v0")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	var conflicts atomic.Int64
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Half the writers are separate Managers, as separate
			// processes would be.
			m := e.m
			if w%4 >= 2 {
				m = e.other(t, nil)
			}
			for i := range each {
				var c coffer.Change
				if w%2 == 0 {
					c.Value = coffer.Value(fmt.Sprintf("w%d-%d", w, i))
				} else {
					c.Description = ptr(fmt.Sprintf("w%d-%d", w, i))
				}
				for attempt := 1; ; attempt++ {
					_, err := m.Update(ctx, "COUNTER", c)
					if err == nil {
						break
					}
					if !errors.Is(err, coffer.ErrConflict) || attempt == maxAttempts {
						errs <- fmt.Errorf("writer %d, update %d, attempt %d: %w", w, i, attempt, err)
						return
					}
					conflicts.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("%d updates gave up with ErrConflict and were retried", conflicts.Load())
	s, err := e.m.Get(ctx, "COUNTER")
	if err != nil {
		t.Fatal(err)
	}
	v, err := e.m.Reveal(ctx, "COUNTER")
	if err != nil {
		t.Fatal(err)
	}
	// Every value change bumps Version exactly once: no lost update, and
	// no update that gave up applied anything.
	if want := 1 + writers/2*each; s.Version != want {
		t.Errorf("Version = %d, want %d (1 + %d value updates)", s.Version, want, writers/2*each)
	}
	lastOf := func(parity int) map[string]bool {
		out := map[string]bool{}
		for w := parity; w < writers; w += 2 {
			out[fmt.Sprintf("w%d-%d", w, each-1)] = true
		}
		return out
	}
	if values := lastOf(0); !values[string(v)] {
		t.Errorf("final value %q is not the last of any value writer (%v)", string(v), keysOfMap(values))
	}
	if descriptions := lastOf(1); !descriptions[s.Description] {
		t.Errorf("final description %q is not the last of any description writer (%v)", s.Description, keysOfMap(descriptions))
	}
}

// testConcurrentUpdatesKeepBothFields: one goroutine changes only values,
// another only descriptions; the final record has the last of each.
func testConcurrentUpdatesKeepBothFields(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	for round := range 20 {
		key := fmt.Sprint("K", round)
		mustCreate(t, e.m, key, "v0")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 1; i <= 10; i++ {
				if _, err := e.m.Update(ctx, key, coffer.Change{Value: coffer.Value(fmt.Sprint("v", i))}); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 1; i <= 10; i++ {
				if _, err := e.m.Update(ctx, key, coffer.Change{Description: ptr(fmt.Sprint("d", i))}); err != nil {
					t.Error(err)
				}
			}
		}()
		wg.Wait()
		s, err := e.m.Get(ctx, key)
		v, err2 := e.m.Reveal(ctx, key)
		if err != nil || err2 != nil || v != "v10" || s.Description != "d10" || s.Version != 11 {
			t.Fatalf("round %d: value %q, description %q, version %d (%v, %v); want v10, d10, 11", round, string(v), s.Description, s.Version, err, err2)
		}
	}
}

// testRacingCreates: exactly one Create of a key wins; the rest get
// ErrAlreadyExists, and the stored value is the winner's.
func testRacingCreates(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "WARM", "v") // the keyring exists; the race is the record's
	const racers = 16
	var wg sync.WaitGroup
	var wins, exists atomic.Int64
	var winner atomic.Value
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := e.m
			if i%2 == 1 {
				m = e.other(t, nil)
			}
			<-start
			v := coffer.Value(fmt.Sprint("racer-", i))
			_, err := m.Create(ctx, coffer.NewSecret{Key: "RACE", Value: v})
			switch {
			case err == nil:
				wins.Add(1)
				winner.Store(v)
			case errors.Is(err, coffer.ErrAlreadyExists):
				exists.Add(1)
			default:
				t.Errorf("Create: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if wins.Load() != 1 || exists.Load() != racers-1 {
		t.Fatalf("wins %d, already-exists %d; want 1 and %d", wins.Load(), exists.Load(), racers-1)
	}
	wantReveal(t, e.m, "RACE", winner.Load().(coffer.Value))
}
