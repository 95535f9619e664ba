package coffer_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/faults"
	"github.com/coffer-go/coffer/internal/layout"
)

// collect ranges over seq, stopping after limit items (0: no limit).
func collect(seq func(func(coffer.Secret, error) bool), limit int) ([]coffer.Secret, []error) {
	var got []coffer.Secret
	var errs []error
	for s, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, s)
		if limit > 0 && len(got) == limit {
			break
		}
	}
	return got, errs
}

func TestAllMatchesList(t *testing.T) {
	e := newEnv(t, &coffer.Options{Project: "shop"})
	ctx := context.Background()
	for _, k := range []string{"ZED", "ALPHA", "MIDDLE", "_UNDER", "beta", "A1", "A"} {
		mustCreate(t, e.m, k, "v-"+k)
	}
	other, err := e.m.Environment("production")
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, other, "ELSEWHERE", "v")
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, errs := collect(e.m.All(ctx), 0)
	if len(errs) != 0 {
		t.Fatalf("All yielded errors: %v", errs)
	}
	if diff := cmp.Diff(list, got); diff != "" {
		t.Errorf("All differs from List (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"A", "A1", "ALPHA", "MIDDLE", "ZED", "_UNDER", "beta"}, backendtest.Keys(got)); diff != "" {
		t.Errorf("All order (-want +got):\n%s", diff)
	}
	empty := newEnv(t, nil)
	if got, errs := collect(empty.m.All(ctx), 0); len(got) != 0 || len(errs) != 0 {
		t.Errorf("All of nothing yielded %v, %v", got, errs)
	}
}

func TestAllEarlyBreakStopsTheQuery(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, k := range []string{"A", "B", "C", "D", "E"} {
		mustCreate(t, e.m, k, "v")
	}
	before := strings.Count(e.audit.String(), `"msg":"coffer.list"`)
	got, errs := collect(e.m.All(ctx), 2)
	if len(errs) != 0 {
		t.Fatalf("All yielded errors: %v", errs)
	}
	if diff := cmp.Diff([]string{"A", "B"}, backendtest.Keys(got)); diff != "" {
		t.Errorf("keys before the break (-want +got):\n%s", diff)
	}
	// The audit event is written when All's function returns, after the scan
	// (and its deferred query Stop) has unwound: one event means the query
	// ended at the break, with outcome ok.
	events := strings.Count(e.audit.String(), `"msg":"coffer.list"`) - before
	if events != 1 || !strings.HasSuffix(strings.TrimSpace(e.audit.String()), `"outcome":"ok"}`) {
		t.Errorf("after a break: %d list events, last audit line %q; want 1 event with outcome ok", events, lastLine(e.audit.String()))
	}
	// The sequence is reusable: a second range runs a new query.
	again, errs := collect(e.m.All(ctx), 0)
	if len(errs) != 0 || len(again) != 5 {
		t.Errorf("second range: %d secrets, errors %v; want 5, none", len(again), errs)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestAllErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("closed", func(t *testing.T) {
		e := newEnv(t, nil)
		mustCreate(t, e.m, "A", "v")
		e.m.Close()
		got, errs := collect(e.m.All(ctx), 0)
		if len(got) != 0 || len(errs) != 1 || !errors.Is(errs[0], coffer.ErrClosed) {
			t.Errorf("All on a closed Manager: %v, %v; want one ErrClosed", got, errs)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		e := newEnv(t, nil)
		mustCreate(t, e.m, "A", "v")
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		got, errs := collect(e.m.All(cctx), 0)
		if len(got) != 0 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
			t.Errorf("All with a canceled context: %v, %v; want one context.Canceled", got, errs)
		}
	})
	t.Run("bad record mid-stream", func(t *testing.T) {
		e := newEnv(t, nil)
		mustCreate(t, e.m, "A", "v")
		mustCreate(t, e.m, "C", "v")
		// A record another tool wrote badly: Version is not a number.
		bad := map[string]any{
			"ID": layout.ID("default", "default", "B"), "Scope": layout.Scope("default", "default"),
			"Key": "B", "Version": "two",
		}
		if err := e.coll.Create(ctx, bad); err != nil {
			t.Fatal(err)
		}
		var keys []string
		var errs []error
		for s, err := range e.m.All(ctx) {
			if err != nil {
				errs = append(errs, err)
				continue
			}
			keys = append(keys, s.Key)
		}
		if diff := cmp.Diff([]string{"A"}, keys); diff != "" {
			t.Errorf("secrets before the bad record (-want +got):\n%s", diff)
		}
		if len(errs) != 1 {
			t.Fatalf("errors = %v; want exactly one, then the end", errs)
		}
		if !strings.Contains(errs[0].Error(), "list") {
			t.Errorf("error %q does not say the listing failed", errs[0])
		}
	})
}

// TestListNeverReadsSealed proves List, All and Keys neither fetch nor open the
// sealed field: a record whose Sealed cannot even be decoded into []byte
// lists fine, and listing on a fresh Manager makes no keeper call.
func TestListNeverReadsSealed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	mustCreate(t, e.m, "GOOD", "v")
	garbage := map[string]any{
		"ID": layout.ID("default", "default", "GARBAGE"), "Scope": layout.Scope("default", "default"),
		"Project": "default", "Environment": "default", "Key": "GARBAGE", "Version": 1,
		"Sealed": int64(42), // not bytes at all: fetching it would fail to decode
	}
	if err := e.coll.Create(ctx, garbage); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Reveal(ctx, "GARBAGE"); err == nil {
		t.Fatal("Reveal of a record with a garbage Sealed field succeeded; the test record is not garbage")
	}

	// A second Manager on the same collection, counting keeper calls: its
	// keyring is not loaded, so any open would have to call the keeper.
	counter := cryptotest.NewCountingKeeper(e.keeper)
	fresh, err := coffer.New(e.coll, counter.Keeper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	list, err := fresh.List(ctx)
	if err != nil {
		t.Fatalf("List with a garbage Sealed field: %v", err)
	}
	streamed, errs := collect(fresh.All(ctx), 0)
	if len(errs) != 0 {
		t.Fatalf("All with a garbage Sealed field: %v", errs)
	}
	keys, err := fresh.Keys(ctx)
	if err != nil {
		t.Fatalf("Keys with a garbage Sealed field: %v", err)
	}
	for name, got := range map[string][]string{"List": backendtest.Keys(list), "All": backendtest.Keys(streamed), "Keys": keys} {
		if diff := cmp.Diff([]string{"GARBAGE", "GOOD"}, got); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", name, diff)
		}
	}
	if n := calls(counter); n != 0 {
		t.Errorf("List, All and Keys made %d keeper calls; want 0", n)
	}
}

// TestRevealMakesNoKeeperCallOnceWarm checks the performance budget's "no
// keeper call on the hot path": the keyring is unwrapped once, then Create,
// Reveal, Update and List call the keeper no more.
func TestRevealMakesNoKeeperCallOnceWarm(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, nil)
	counter := cryptotest.NewCountingKeeper(e.keeper)
	m, err := coffer.New(e.coll, counter.Keeper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	// Creating the keyring wraps the first data key (one Encrypt) and
	// unwraps it once to prove the keeper gives it back (one Decrypt).
	mustCreate(t, m, "WARM", "v")
	if got := calls(counter); got != 2 {
		t.Fatalf("warm-up made %d keeper calls; want 2 (wrapping the first data key and checking it)", got)
	}
	for i := range 10 {
		if _, err := m.Reveal(ctx, "WARM"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Update(ctx, "WARM", coffer.Change{Value: coffer.Value("v" + string(rune('a'+i)))}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate(t, m, "MORE", "v")
	if _, err := m.List(ctx); err != nil {
		t.Fatal(err)
	}
	if got := calls(counter); got != 2 {
		t.Errorf("after warm-up: %d keeper calls in all; want still 2", got)
	}
}

// calls is the number of keeper calls made through c so far.
func calls(c *cryptotest.CountingKeeper) int { return c.Encrypts() + c.Decrypts() }

// fieldSpy is a docstore driver that records the fields each query and
// each Get asks the store for.
type fieldSpy struct {
	driver.Collection
	mu    sync.Mutex
	asked [][]string // per query or Get: its top-level field names; nil: whole documents
}

func (s *fieldSpy) record(fps [][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for _, fp := range fps {
		names = append(names, strings.Join(fp, "."))
	}
	s.asked = append(s.asked, names)
}

func (s *fieldSpy) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	s.record(q.FieldPaths)
	return s.Collection.RunGetQuery(ctx, q)
}

func (s *fieldSpy) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	for _, a := range actions {
		if a.Kind == driver.Get {
			s.record(a.FieldPaths)
		}
	}
	return s.Collection.RunActions(ctx, actions, opts)
}

// take returns what was asked since the last take.
func (s *fieldSpy) take() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	asked := s.asked
	s.asked = nil
	return asked
}

// TestListingsNeverAskForSealed checks, at the driver, what List, All and
// Keys ask the store for: one query each, projected to fields that never
// include Sealed (so no driver sends a ciphertext), and nothing else.
func TestListingsNeverAskForSealed(t *testing.T) {
	ctx := context.Background()
	raw := coffertest.New(t, nil, nil).Collection
	drv, err := faults.DriverOf(raw)
	if err != nil {
		t.Fatal(err)
	}
	spy := &fieldSpy{Collection: drv}
	e := coffertest.New(t, docstore.NewCollection(spy), nil)
	mustCreate(t, e.Manager, "A_TOKEN", "a")
	mustCreate(t, e.Manager, "B_URL", "b")
	for name, list := range map[string]func() error{
		"List": func() error { _, err := e.Manager.List(ctx); return err },
		"All": func() error {
			for _, err := range e.Manager.All(ctx) {
				if err != nil {
					return err
				}
			}
			return nil
		},
		"Keys": func() error { _, err := e.Manager.Keys(ctx); return err },
	} {
		spy.take()
		if err := list(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		asked := spy.take()
		if len(asked) != 1 {
			t.Errorf("%s made %d store reads, want 1 query: %q", name, len(asked), asked)
			continue
		}
		if fields := asked[0]; fields == nil || slices.Contains(fields, "Sealed") {
			t.Errorf("%s asked for %q; want a projection without Sealed", name, fields)
		}
	}
}
