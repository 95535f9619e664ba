package claims

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/docstore/drivertest"
	"gocloud.dev/docstore/memdocstore"
	"gocloud.dev/gcerrors"
)

// harness runs gocloud's driver conformance tests on claims over
// memdocstore.
type harness struct{}

func (harness) MakeCollection(_ context.Context, kind drivertest.CollectionKind) (driver.Collection, error) {
	cc, err := memdocstore.OpenCollection(IDField, nil)
	if err != nil {
		return nil, err
	}
	switch kind {
	case drivertest.SingleKey, drivertest.NoRev:
		docs, err := memdocstore.OpenCollection(drivertest.KeyField, nil)
		if err != nil {
			return nil, err
		}
		return newCollection(docs, cc, drivertest.KeyField, nil, nil)
	case drivertest.TwoKey:
		docs, err := memdocstore.OpenCollectionWithKeyFunc(drivertest.HighScoreKey, nil)
		if err != nil {
			return nil, err
		}
		return newCollection(docs, cc, "", drivertest.HighScoreKey, nil)
	case drivertest.AltRev:
		opts := &memdocstore.Options{RevisionField: drivertest.AlternateRevisionField}
		docs, err := memdocstore.OpenCollection(drivertest.KeyField, opts)
		if err != nil {
			return nil, err
		}
		return newCollection(docs, cc, drivertest.KeyField, nil, &Options{RevisionField: drivertest.AlternateRevisionField})
	}
	return nil, fmt.Errorf("unknown collection kind %v", kind)
}

func (harness) BeforeDoTypes() []any               { return nil }
func (harness) BeforeQueryTypes() []any            { return nil }
func (harness) RevisionsEqual(rev1, rev2 any) bool { return rev1 == rev2 }
func (harness) Close()                             {}
func (harness) AtomicWritesKind() drivertest.AtomicWritesSupportKind {
	return drivertest.MultiplePartitions
}

// TestDriverConformance: the wrapper keeps docstore's whole contract, as
// gocloud's own driver suite checks it. The codec tests skip inside the
// suite, as they do for memdocstore: it has no native codec.
func TestDriverConformance(t *testing.T) {
	drivertest.RunConformanceTests(t, func(context.Context, *testing.T) (drivertest.Harness, error) {
		return harness{}, nil
	}, nil, nil)
}

// fixture is a wrapped collection of map documents keyed by "name", with
// its claims collection, on memdocstore or on racy.
type fixture struct {
	t      *testing.T
	inner  *docstore.Collection // the wrapped collection
	claims *docstore.Collection
	c      *collection
	coll   *docstore.Collection // the wrapper
	clock  *fakeClock           // nil: the real clock
}

type fixtureOptions struct {
	lease     time.Duration
	fakeClock bool
	racy      *racy // when set, the wrapped collection
}

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	f := &fixture{t: t}
	var err error
	f.inner, err = memdocstore.OpenCollection("name", nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.racy != nil {
		o.racy.mem = f.inner
		f.inner = docstore.NewCollection(o.racy)
	}
	f.claims, err = memdocstore.OpenCollection(IDField, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.c, err = newCollection(f.inner, f.claims, "name", nil, &Options{Lease: o.lease})
	if err != nil {
		t.Fatal(err)
	}
	if o.fakeClock {
		f.clock = &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		f.c.now = f.clock.now
		f.c.sleep = f.clock.sleep
	}
	f.coll = docstore.NewCollection(f.c)
	t.Cleanup(func() { _ = f.coll.Close() })
	return f
}

// claimIDs lists the claims stored, sorted.
func (f *fixture) claimIDs() []string {
	f.t.Helper()
	it := f.claims.Query().Get(context.Background())
	defer it.Stop()
	var ids []string
	for {
		var c claim
		err := it.Next(context.Background(), &c)
		if err == io.EOF {
			break
		}
		if err != nil {
			f.t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	sort.Strings(ids)
	return ids
}

// noClaims fails the test if any claim is stored.
func (f *fixture) noClaims() {
	f.t.Helper()
	if ids := f.claimIDs(); len(ids) != 0 {
		f.t.Errorf("claims left %v", ids)
	}
}

// putClaim stores a claim as another writer would have.
func (f *fixture) putClaim(id, holder string) *claim {
	f.t.Helper()
	c := &claim{ID: id, Holder: holder}
	if err := f.claims.Put(context.Background(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// get reads a document of the wrapped collection directly.
func (f *fixture) get(name string) map[string]any {
	f.t.Helper()
	doc := map[string]any{"name": name, docstore.DefaultRevisionField: nil}
	if err := f.inner.Get(context.Background(), doc); err != nil {
		f.t.Fatal(err)
	}
	return doc
}

func (f *fixture) create(name string, n int) map[string]any {
	f.t.Helper()
	// A map gets its revision only where it has the field.
	doc := map[string]any{"name": name, "n": int64(n), docstore.DefaultRevisionField: nil}
	if err := f.coll.Create(context.Background(), doc); err != nil {
		f.t.Fatal(err)
	}
	return doc
}

// fakeClock is a clock whose sleeps only move it on.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
	// onSleep, when set, runs at each sleep.
	onSleep func()
	sleeps  int
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps++
	c.mu.Unlock()
	c.advance(d)
	if c.onSleep != nil {
		c.onSleep()
	}
	return nil
}

// TestWritesLeaveNoClaims: every kind of write goes through and gives its
// claim back; a stale revision still fails as on the wrapped store.
func TestWritesLeaveNoClaims(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	doc := f.create("a", 1)
	stale := map[string]any{"name": "a", "n": int64(99), docstore.DefaultRevisionField: doc[docstore.DefaultRevisionField]}
	steps := []struct {
		name string
		do   func() error
		want int64 // n afterwards
	}{
		{"Replace", func() error { doc["n"] = int64(2); return f.coll.Replace(ctx, doc) }, 2},
		{"Put with revision", func() error { doc["n"] = int64(3); return f.coll.Put(ctx, doc) }, 3},
		{"Put without revision", func() error {
			// The field, empty, gets the new revision: memdocstore sets it
			// only on a map that has it.
			doc = map[string]any{"name": "a", "n": int64(4), docstore.DefaultRevisionField: nil}
			return f.coll.Put(ctx, doc)
		}, 4},
		{"Update", func() error {
			return f.coll.Update(ctx, doc, docstore.Mods{"n": docstore.Increment(1)})
		}, 5},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := f.get("a")["n"]; got != s.want {
			t.Errorf("after %s: n = %v, want %d", s.name, got, s.want)
		}
		f.noClaims()
	}
	if err := f.coll.Replace(ctx, stale); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("stale Replace: %v, want FailedPrecondition", err)
	}
	if err := f.coll.Delete(ctx, stale); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("stale Delete: %v, want FailedPrecondition", err)
	}
	if got := f.get("a")["n"]; got != int64(5) {
		t.Errorf("stale writes changed n to %v", got)
	}
	if err := f.coll.Delete(ctx, map[string]any{"name": "a"}); err != nil {
		t.Fatal(err)
	}
	if err := f.inner.Get(ctx, map[string]any{"name": "a"}); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("after Delete, Get: %v", err)
	}
	f.noClaims()
}

// TestLiveClaimBlocksWrites: a write waits while another writer holds the
// document's claim, writes nothing if its context ends first, goes through
// once the claim goes, and never holds up other documents.
func TestLiveClaimBlocksWrites(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	f.create("a", 1)
	f.create("b", 1)
	held := f.putClaim("a#0", "other")

	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	err := f.coll.Put(short, map[string]any{"name": "a", "n": int64(2)})
	if gcerrors.Code(err) != gcerrors.DeadlineExceeded {
		t.Errorf("write under a held claim: %v, want DeadlineExceeded", err)
	}
	if got := f.get("a")["n"]; got != int64(1) {
		t.Errorf("the blocked write changed n to %v", got)
	}
	if err := f.coll.Put(ctx, map[string]any{"name": "b", "n": int64(2)}); err != nil {
		t.Errorf("another document's write: %v", err)
	}
	if diff := cmp.Diff([]string{"a#0"}, f.claimIDs()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	done := make(chan error, 1)
	go func() { done <- f.coll.Put(ctx, map[string]any{"name": "a", "n": int64(3)}) }()
	select {
	case err := <-done:
		t.Fatalf("write went through while the claim was held: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	if err := f.claims.Delete(ctx, held); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("write after the claim went: %v", err)
	}
	if got := f.get("a")["n"]; got != int64(3) {
		t.Errorf("n = %v, want 3", got)
	}
	f.noClaims()
}

// TestAbandonedClaimTakenOver: a claim unchanged for a lease is taken over
// through the next claim of its chain; after the write both are gone.
func TestAbandonedClaimTakenOver(t *testing.T) {
	f := newFixture(t, fixtureOptions{fakeClock: true})
	ctx := context.Background()
	f.create("a", 1)
	f.putClaim("a#0", "dead")
	if err := f.coll.Put(ctx, map[string]any{"name": "a", "n": int64(2)}); err != nil {
		t.Fatal(err)
	}
	if got := f.get("a")["n"]; got != int64(2) {
		t.Errorf("n = %v, want 2", got)
	}
	f.noClaims()
	// It waited out a lease of its own clock, no less.
	if waited := f.clock.now().Sub(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); waited < DefaultLease {
		t.Errorf("took over after %v, before a lease (%v)", waited, DefaultLease)
	}
}

// TestChangingClaimNeverTakenOver: a claim whose holder changes between
// every look is live, however long the waiting lasts: no waiter takes the
// next claim of the chain.
func TestChangingClaimNeverTakenOver(t *testing.T) {
	f := newFixture(t, fixtureOptions{fakeClock: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.create("a", 1)
	f.putClaim("a#0", "w0")
	f.clock.onSleep = func() {
		// Each sleep is a quarter of a lease on this clock; another
		// writer gives the claim back and a third takes it.
		f.clock.advance(DefaultLease / 4)
		f.clock.mu.Lock()
		n := f.clock.sleeps
		f.clock.mu.Unlock()
		if err := f.claims.Delete(context.Background(), map[string]any{IDField: "a#0"}); err != nil {
			t.Error(err)
		}
		f.putClaim("a#0", fmt.Sprint("w", n))
		if n == 40 {
			cancel()
		}
	}
	err := f.coll.Put(ctx, map[string]any{"name": "a", "n": int64(2)})
	if gcerrors.Code(err) != gcerrors.Canceled {
		t.Errorf("Put: %v, want Canceled", err)
	}
	if diff := cmp.Diff([]string{"a#0"}, f.claimIDs()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	if got := f.get("a")["n"]; got != int64(1) {
		t.Errorf("n = %v, want 1", got)
	}
}

// TestTakeOverNeedsTheChainBelow: a successor's claim counts only while
// the claims it took over are still there. Here the abandoned claim is
// given back, and a new writer takes a#0, just as the waiter takes a#1: the
// waiter gives a#1 back and waits on the new a#0.
func TestTakeOverNeedsTheChainBelow(t *testing.T) {
	f := newFixture(t, fixtureOptions{fakeClock: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.create("a", 1)
	f.putClaim("a#0", "dead")
	var created []string
	f.c.beforeCreate = func(id string) {
		created = append(created, id)
		if id == "a#1" {
			if err := f.claims.Delete(context.Background(), map[string]any{IDField: "a#0"}); err != nil {
				t.Error(err)
			}
			f.putClaim("a#0", "new")
		}
	}
	f.clock.onSleep = func() {
		if f.clock.now().Sub(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) > DefaultLease+DefaultLease/2 {
			cancel()
		}
	}
	err := f.coll.Put(ctx, map[string]any{"name": "a", "n": int64(2)})
	if gcerrors.Code(err) != gcerrors.Canceled {
		t.Errorf("Put: %v, want Canceled: the new a#0 is live", err)
	}
	if got := f.get("a")["n"]; got != int64(1) {
		t.Errorf("n = %v, want 1", got)
	}
	if diff := cmp.Diff([]string{"a#0"}, f.claimIDs()); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	// After a#1 the waiter went back to the head of the chain.
	if i := indexOf(created, "a#1"); i < 0 || i == len(created)-1 || created[i+1] != "a#0" {
		t.Errorf("claims tried %v; want a#0 tried again after a#1", compact(created))
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// compact drops repeats in a row, for a readable failure.
func compact(s []string) []string {
	var out []string
	for _, x := range s {
		if len(out) == 0 || out[len(out)-1] != x {
			out = append(out, x)
		}
	}
	return out
}

// TestStalledHolderDoesNotWrite: a holder whose claim is half a lease old
// when it comes to write does not write. A revision-checked write reports
// a conflict and a blind one an Internal error; claims under a lease old
// are given back, older ones left to whoever took them over.
func TestStalledHolderDoesNotWrite(t *testing.T) {
	for _, tt := range []struct {
		name      string
		stall     time.Duration
		withRev   bool
		wantCode  gcerrors.ErrorCode
		wantClaim []string
	}{
		{"revision-checked", DefaultLease / 2, true, gcerrors.FailedPrecondition, nil},
		{"blind", DefaultLease / 2, false, gcerrors.Internal, nil},
		{"past a whole lease", DefaultLease, true, gcerrors.FailedPrecondition, []string{"a#0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, fixtureOptions{fakeClock: true})
			doc := f.create("a", 1)
			f.c.afterTake = func() { f.clock.advance(tt.stall) }
			w := map[string]any{"name": "a", "n": int64(2)}
			if tt.withRev {
				w[docstore.DefaultRevisionField] = doc[docstore.DefaultRevisionField]
			}
			err := f.coll.Put(context.Background(), w)
			if gcerrors.Code(err) != tt.wantCode {
				t.Errorf("Put: %v, want code %v", err, tt.wantCode)
			}
			if got := f.get("a")["n"]; got != int64(1) {
				t.Errorf("n = %v, want 1", got)
			}
			if diff := cmp.Diff(tt.wantClaim, f.claimIDs()); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

// racy is a collection whose revision-checked Replace is a find, then a
// blind write, as FerretDB 1.x's is. pause runs between the two.
type racy struct {
	mem   *docstore.Collection
	pause func(name any)
}

func (r *racy) inner() *collection {
	return &collection{docs: r.mem, revField: docstore.DefaultRevisionField}
}

func (r *racy) Key(doc driver.Document) (any, error) { return doc.GetField("name") }
func (r *racy) RevisionField() string                { return docstore.DefaultRevisionField }
func (r *racy) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	errs := make([]error, len(actions))
	for i, a := range actions {
		rev, _ := a.Doc.GetField(docstore.DefaultRevisionField)
		if a.Kind != driver.Replace || rev == nil {
			err := r.inner().innerList([]*driver.Action{a}, false, opts).Do(ctx)
			var alerr docstore.ActionListError
			if errors.As(err, &alerr) {
				err = alerr[0].Err
			}
			errs[i] = err
			continue
		}
		cur := map[string]any{"name": a.Key, docstore.DefaultRevisionField: nil}
		if err := r.mem.Get(ctx, cur); err != nil {
			errs[i] = err
			continue
		}
		if cur[docstore.DefaultRevisionField] != rev {
			errs[i] = &claimError{code: gcerrors.FailedPrecondition, msg: "racy: revision changed"}
			continue
		}
		if r.pause != nil {
			r.pause(a.Key)
		}
		if err := a.Doc.SetField(docstore.DefaultRevisionField, nil); err != nil {
			errs[i] = err
			continue
		}
		errs[i] = r.mem.Put(ctx, a.Doc.Origin)
	}
	return driver.NewActionListError(errs)
}
func (r *racy) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	return r.inner().RunGetQuery(ctx, q)
}
func (r *racy) QueryPlan(q *driver.Query) (string, error) { return r.inner().QueryPlan(q) }
func (r *racy) RevisionToBytes(rev any) ([]byte, error)   { return r.inner().RevisionToBytes(rev) }
func (r *racy) BytesToRevision(b []byte) (any, error)     { return r.inner().BytesToRevision(b) }
func (r *racy) As(any) bool                               { return false }
func (r *racy) ErrorAs(error, any) bool                   { return false }
func (r *racy) ErrorCode(err error) gcerrors.ErrorCode    { return r.inner().ErrorCode(err) }
func (r *racy) Close() error                              { return r.mem.Close() }

// raceTwo runs the schedule that loses an update on a racy store: two
// writers read revision 1; the first finds its revision matching and
// pauses before writing while the second writes.
func raceTwo(t *testing.T, withClaims bool) (final int64, errA, errB error) {
	t.Helper()
	paused := make(chan struct{})
	resume := make(chan struct{})
	r := &racy{}
	first := true
	var mu sync.Mutex
	r.pause = func(any) {
		mu.Lock()
		me := first
		first = false
		mu.Unlock()
		if me {
			close(paused)
			<-resume
		}
	}
	f := newFixture(t, fixtureOptions{racy: r})
	coll := f.coll
	if !withClaims {
		coll = f.inner
	}
	ctx := context.Background()
	doc := f.create("a", 0)
	rev := doc[docstore.DefaultRevisionField]
	doneA := make(chan error, 1)
	go func() {
		doneA <- coll.Replace(ctx, map[string]any{"name": "a", "n": int64(1), docstore.DefaultRevisionField: rev})
	}()
	select {
	case <-paused:
	case err := <-doneA:
		t.Fatalf("A ended before its write: %v", err)
	}
	doneB := make(chan error, 1)
	go func() {
		doneB <- coll.Replace(ctx, map[string]any{"name": "a", "n": int64(2), docstore.DefaultRevisionField: rev})
	}()
	if !withClaims {
		// Unclaimed, B finds revision 1 too and writes at once.
		errB = <-doneB
		close(resume)
		errA = <-doneA
	} else {
		// Claimed, B waits on A's claim until A has written.
		gotB := false
		select {
		case errB = <-doneB:
			gotB = true
			t.Errorf("B finished while A held the claim: %v", errB)
		case <-time.After(20 * time.Millisecond):
		}
		close(resume)
		errA = <-doneA
		if !gotB {
			errB = <-doneB
		}
	}
	return f.get("a")["n"].(int64), errA, errB
}

// TestRacyStoreLosesUpdatesWithoutClaims is the control: on a store that
// finds, then writes, both writers of revision 1 succeed and one change is
// lost.
func TestRacyStoreLosesUpdatesWithoutClaims(t *testing.T) {
	final, errA, errB := raceTwo(t, false)
	if errA != nil || errB != nil {
		t.Fatalf("A: %v, B: %v; want both to succeed on the racy store", errA, errB)
	}
	if final != 1 {
		t.Errorf("n = %d, want 1 (A wrote last over B)", final)
	}
}

// TestClaimsMakeRacyStoreAtomic: with claims, the same schedule gives one
// success and one conflict, and the conflict is the stale writer's.
func TestClaimsMakeRacyStoreAtomic(t *testing.T) {
	final, errA, errB := raceTwo(t, true)
	if errA != nil {
		t.Errorf("A: %v", errA)
	}
	if gcerrors.Code(errB) != gcerrors.FailedPrecondition {
		t.Errorf("B: %v, want FailedPrecondition", errB)
	}
	if final != 1 {
		t.Errorf("n = %d, want A's 1", final)
	}
}

// TestConcurrentIncrementsAllLand: 8 writers × 40 read-modify-write
// increments of one document on the racy store; every increment that
// reported success is there.
func TestConcurrentIncrementsAllLand(t *testing.T) {
	r := &racy{pause: func(any) { time.Sleep(50 * time.Microsecond) }}
	f := newFixture(t, fixtureOptions{racy: r})
	f.create("a", 0)
	const writers, each = 8, 40
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			ctx := context.Background()
			for range each {
				for {
					doc := map[string]any{"name": "a", docstore.DefaultRevisionField: nil}
					if err := f.coll.Get(ctx, doc); err != nil {
						t.Error(err)
						return
					}
					doc["n"] = doc["n"].(int64) + 1
					err := f.coll.Replace(ctx, doc)
					if err == nil {
						break
					}
					if gcerrors.Code(err) != gcerrors.FailedPrecondition {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if got := f.get("a")["n"]; got != int64(writers*each) {
		t.Errorf("n = %v, want %d", got, writers*each)
	}
	f.noClaims()
}

// TestAtomicGroupsDoNotDeadlock: two atomic groups over the same two
// documents, listed in opposite orders, run concurrently many times.
func TestAtomicGroupsDoNotDeadlock(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.create("a", 0)
	f.create("b", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, order := range [][2]string{{"a", "b"}, {"b", "a"}} {
		wg.Go(func() {
			for range 100 {
				err := f.coll.Actions().AtomicWrites().
					Update(map[string]any{"name": order[0]}, docstore.Mods{"n": docstore.Increment(1)}).
					Update(map[string]any{"name": order[1]}, docstore.Mods{"n": docstore.Increment(1)}).
					Do(ctx)
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, name := range []string{"a", "b"} {
		if got := f.get(name)["n"]; got != int64(200) {
			t.Errorf("%s: n = %v, want 200", name, got)
		}
	}
	f.noClaims()
}

// TestFailingClaimsStoreStopsWrites: when the claims collection fails, the
// write fails with its error and nothing is written.
func TestFailingClaimsStoreStopsWrites(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	f.create("a", 1)
	if err := f.claims.Close(); err != nil {
		t.Fatal(err)
	}
	err := f.coll.Put(ctx, map[string]any{"name": "a", "n": int64(2)})
	if gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("Put: %v, want the closed claims collection's FailedPrecondition", err)
	}
	if got := f.get("a")["n"]; got != int64(1) {
		t.Errorf("n = %v, want 1", got)
	}
	// Reads do not need claims.
	if err := f.coll.Get(ctx, map[string]any{"name": "a"}); err != nil {
		t.Errorf("Get: %v", err)
	}
}

// TestWrapRejectsBadArguments.
func TestWrapRejectsBadArguments(t *testing.T) {
	mem := func() *docstore.Collection {
		c, err := memdocstore.OpenCollection("name", nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tt := range []struct {
		name string
		wrap func() (*docstore.Collection, error)
	}{
		{"nil docs", func() (*docstore.Collection, error) { return Wrap(nil, mem(), "name", nil) }},
		{"nil claims", func() (*docstore.Collection, error) { return Wrap(mem(), nil, "name", nil) }},
		{"empty key field", func() (*docstore.Collection, error) { return Wrap(mem(), mem(), "", nil) }},
		{"nil key func", func() (*docstore.Collection, error) { return WrapWithKeyFunc(mem(), mem(), nil, nil) }},
		{"negative lease", func() (*docstore.Collection, error) {
			return Wrap(mem(), mem(), "name", &Options{Lease: -time.Second})
		}},
	} {
		if c, err := tt.wrap(); err == nil {
			t.Errorf("%s: Wrap succeeded", tt.name)
			_ = c.Close()
		}
	}
}

// TestErrorCodes: the wrapper keeps the codes of both collections' errors
// and gives its own.
func TestErrorCodes(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	err := f.coll.Get(context.Background(), map[string]any{"name": "missing"})
	if gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("Get of a missing document: %v", err)
	}
	if got := f.c.ErrorCode(&claimError{code: gcerrors.Internal}); got != gcerrors.Internal {
		t.Errorf("ErrorCode = %v", got)
	}
	if got := f.c.ErrorCode(fmt.Errorf("wrapped: %w", &claimError{code: gcerrors.FailedPrecondition})); got != gcerrors.FailedPrecondition {
		t.Errorf("ErrorCode of a wrapped claimError = %v", got)
	}
	if got := f.c.ErrorCode(errors.New("plain")); got != gcerrors.Unknown {
		t.Errorf("ErrorCode of a plain error = %v", got)
	}
}

// landsThenCancels lets a claim's Create land in the store and then ends the
// writer's context before the answer comes back, as a request cut short in
// flight does on a real server: the insert was sent, only its answer is
// given up.
type landsThenCancels struct {
	driver.Collection
	mu     sync.Mutex
	cancel context.CancelFunc
}

func (d *landsThenCancels) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	errs := d.Collection.RunActions(ctx, actions, opts)
	d.mu.Lock()
	cancel := d.cancel
	d.cancel = nil
	d.mu.Unlock()
	if cancel == nil || len(errs) > 0 || actions[0].Kind != driver.Create {
		return errs
	}
	cancel()
	if err := ctx.Err(); err != nil {
		for i := range actions {
			errs = append(errs, struct {
				Index int
				Err   error
			}{i, err})
		}
	}
	return errs
}

// TestClaimCutShortLeavesNoClaim: a claim whose Create lands after the
// writer's context ended is given back, not left to hold up the document's
// writers for a lease; the write itself does not happen.
func TestClaimCutShortLeavesNoClaim(t *testing.T) {
	ctx := context.Background()
	inner, err := memdocstore.OpenCollection("name", nil)
	if err != nil {
		t.Fatal(err)
	}
	base, err := memdocstore.OpenCollection(IDField, nil)
	if err != nil {
		t.Fatal(err)
	}
	cut := &landsThenCancels{Collection: driverOf(t, base)}
	c, err := newCollection(inner, docstore.NewCollection(cut), "name", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	coll := docstore.NewCollection(c)
	defer coll.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cut.cancel = cancel
	err = coll.Put(wctx, map[string]any{"name": "a", "n": int64(1)})
	if !errors.Is(err, context.Canceled) && gcerrors.Code(err) != gcerrors.Canceled {
		t.Errorf("write whose claim was cut short: %v, want Canceled", err)
	}
	if err := inner.Get(ctx, map[string]any{"name": "a"}); gcerrors.Code(err) != gcerrors.NotFound {
		t.Errorf("the write happened: Get = %v", err)
	}
	it := base.Query().Get(ctx)
	defer it.Stop()
	var left []string
	for {
		var cl claim
		err := it.Next(ctx, &cl)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		left = append(left, cl.ID)
	}
	if len(left) != 0 {
		t.Errorf("claims left: %v", left)
	}
}

// driverOf returns the driver inside coll (as internal/faults.DriverOf does;
// that package cannot be imported here).
func driverOf(t *testing.T, coll *docstore.Collection) driver.Collection {
	t.Helper()
	v := reflect.ValueOf(coll).Elem().FieldByName("driver")
	if !v.IsValid() || v.Type() != reflect.TypeFor[driver.Collection]() {
		t.Fatal("docstore.Collection has no driver field of type driver.Collection")
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface().(driver.Collection)
}
