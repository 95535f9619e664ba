package coffer_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/internal/faults"
	"github.com/coffer-go/coffer/internal/layout"
)

// faultOp is one operation walked through its failure points.
type faultOp struct {
	name  string
	empty bool  // run on an empty store, so the keyring is created too
	fails error // the sentinel the operation fails with even without faults
	run   func(context.Context, *coffer.Manager) (any, error)
}

var faultOps = []faultOp{
	{name: "Create", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Create(ctx, coffer.NewSecret{Key: "NEW_TOKEN", Value: canary + "-new", Description: "new"})
	}},
	{name: "Create/first", empty: true, run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Create(ctx, coffer.NewSecret{Key: "NEW_TOKEN", Value: canary + "-new"})
	}},
	{name: "Create/taken", fails: coffer.ErrAlreadyExists, run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Create(ctx, coffer.NewSecret{Key: "API_KEY", Value: canary + "-new"})
	}},
	{name: "Get", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.Get(ctx, "API_KEY") }},
	{name: "Get/missing", fails: coffer.ErrNotFound, run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.Get(ctx, "api_key") }},
	{name: "Reveal", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		v, err := m.Reveal(ctx, "API_KEY")
		return string(v), err
	}},
	{name: "List", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.List(ctx) }},
	{name: "Keys", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.Keys(ctx) }},
	{name: "Environ", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.Environ(ctx) }},
	{name: "Require", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return nil, m.Require(ctx, "API_KEY", "DB_URL")
	}},
	{name: "Update/value", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-2"})
	}},
	{name: "Update/description", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Update(ctx, "API_KEY", coffer.Change{Description: ptr("rotated monthly")})
	}},
	{name: "Update/both", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Update(ctx, "DB_URL", coffer.Change{Value: canary + "-3", Description: ptr("primary")})
	}},
	{name: "Update/if-version", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-3", IfVersion: 2})
	}},
	{name: "Update/stale", fails: coffer.ErrConflict, run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return m.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-3", IfVersion: 1})
	}},
	{name: "Versions", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.Versions(ctx, "API_KEY") }},
	{name: "RevealVersion", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		v, err := m.RevealVersion(ctx, "API_KEY", 1)
		return string(v), err
	}},
	{name: "Rollback", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return m.Rollback(ctx, "API_KEY", 1) }},
	{name: "Delete", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return nil, m.Delete(ctx, "API_KEY") }},
	{name: "Delete/no-history", run: func(ctx context.Context, m *coffer.Manager) (any, error) { return nil, m.Delete(ctx, "DB_URL") }},
	{name: "RotateDataKey", run: func(ctx context.Context, m *coffer.Manager) (any, error) {
		return nil, m.RotateDataKey(ctx)
	}},
}

// faultStore is a collection and keeper as a test sees them from outside:
// raw, with no faults, for seeding and inspection.
type faultStore struct {
	raw    *docstore.Collection
	keeper *secrets.Keeper
	opts   *coffer.Options
}

func newFaultStore(t *testing.T, keeper *secrets.Keeper, empty bool) *faultStore {
	t.Helper()
	raw, err := backend.OpenMemCollection()
	if err != nil {
		t.Fatal(err)
	}
	s := &faultStore{raw: raw, keeper: keeper, opts: &coffer.Options{Now: func() time.Time { return fixedNow }}}
	if !empty {
		m := s.manager(t)
		ctx := coffer.WithActor(context.Background(), "seed")
		mustCreate(t, m, "API_KEY", canary)
		// API_KEY is at version 2, its first value kept as version 1.
		if _, err := m.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-v2"}); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, m, "DB_URL", canary+"-db")
		staging, err := m.Environment("staging")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := staging.Create(ctx, coffer.NewSecret{Key: "API_KEY", Value: canary + "-staging"}); err != nil {
			t.Fatal(err)
		}
		m.Close()
	}
	return s
}

// manager returns a Manager over the raw store with a cold keyring.
func (s *faultStore) manager(t *testing.T) *coffer.Manager {
	t.Helper()
	m, err := coffer.New(s.raw, s.keeper, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// state is the store as it means to a reader: every document without its
// revision, each envelope replaced by what a fresh Manager opens it to, and
// the keyring by its key ids and whether each unwraps. Two stores in the
// same state hold the same secrets even though their ciphertexts differ.
func (s *faultStore) state(t *testing.T) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	m := s.manager(t)
	defer m.Close()
	out := backendtest.Snapshot(t, s.raw)
	versions := map[string]map[string]any{}
	for id, doc := range out {
		delete(doc, "DocstoreRevision")
		if layout.IsHistoryScope(fmt.Sprint(doc["Scope"])) {
			// Version documents count as what Versions and RevealVersion
			// show of them, below: one an interrupted write left behind
			// is not part of any secret.
			delete(out, id)
			continue
		}
		if id == layout.KeyringID {
			var ids []string
			for _, k := range doc["Keys"].([]any) {
				k := k.(map[string]any)
				_, err := s.keeper.Decrypt(ctx, k["Wrapped"].([]byte))
				ids = append(ids, fmt.Sprintf("%v unwraps: %v", k["ID"], err == nil))
			}
			out[id] = map[string]any{"Active": doc["Active"], "Keys": ids}
			continue
		}
		pm, err := m.Project(doc["Project"].(string))
		if err != nil {
			t.Fatal(err)
		}
		em, err := pm.Environment(doc["Environment"].(string))
		if err != nil {
			t.Fatal(err)
		}
		key := doc["Key"].(string)
		v, err := em.Reveal(ctx, key)
		if err != nil {
			doc["Sealed"] = "DOES NOT OPEN: " + err.Error()
		} else {
			doc["Sealed"] = "opens to " + string(v)
		}
		vs, err := em.Versions(ctx, key)
		if err != nil {
			t.Fatalf("Versions(%s): %v", id, err)
		}
		for _, ver := range vs[1:] {
			d := map[string]any{"Version": ver.Version, "CreatedAt": ver.CreatedAt, "CreatedBy": ver.CreatedBy}
			v, err := em.RevealVersion(ctx, key, ver.Version)
			if err != nil {
				d["Sealed"] = "DOES NOT OPEN: " + err.Error()
			} else {
				d["Sealed"] = "opens to " + string(v)
			}
			versions[fmt.Sprintf("%s@%d", id, ver.Version)] = d
		}
	}
	maps.Copy(out, versions)
	return out
}

// noPlaintext fails when any stored document holds a canary value in any
// field, as raw bytes.
func (s *faultStore) noPlaintext(t *testing.T) {
	t.Helper()
	backendtest.NoPlaintext(t, s.raw, canaryCore)
}

// TestFaults walks every operation through every failure point: for each
// fault mode, call 1 of the operation's store and keeper calls faults, then
// call 2, ... until the operation completes without reaching the armed
// call. At each point the operation either succeeds with the right answer or
// returns a clear error; the store is left exactly as before the operation
// or exactly as after it; every stored value still opens; no value is in
// clear in the store or in the error; and a hung call gives up when its
// context is cancelled.
func TestFaults(t *testing.T) {
	garbageKept = nil
	points := walkFaults(t, []faults.Mode{faults.Fail, faults.FailAfter, faults.Hang, faults.Garbage}, false)
	t.Logf("%d fault points tried over %d operations and 4 modes, cold keyring", points, len(faultOps))
	documentedPoints(t, "TestFaults", points)
	for _, w := range garbageKept {
		t.Logf("a wrong unwrap by the keeper left values no fresh Manager opens: %s", w)
	}
}

// TestFailedCallLeavesEveryRecordOpen: a keeper or store call that fails,
// fails after reaching the store, or hangs until its context is cancelled
// never leaves a record that Reveal cannot open, whether the Manager's
// keyring is still to be loaded or already in memory.
func TestFailedCallLeavesEveryRecordOpen(t *testing.T) {
	modes := []faults.Mode{faults.Fail, faults.FailAfter, faults.Hang}
	points := walkFaults(t, modes, false) + walkFaults(t, modes, true)
	t.Logf("%d fault points tried over %d operations and 3 modes, cold and warm keyring", points, len(faultOps))
	documentedPoints(t, "TestFailedCallLeavesEveryRecordOpen", points)
}

// documentedPoints fails unless SECURITY.md's fault-injection table gives
// test's row the number of points the test tried, so the page never drifts
// from what the test does.
func documentedPoints(t *testing.T, test string, points int) {
	t.Helper()
	page, err := os.ReadFile("SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `" + test + "` [^|]*\\| ([0-9,]+) \\|$").FindSubmatch(page)
	if row == nil {
		t.Fatalf("SECURITY.md has no fault-point row for %s", test)
	}
	if got := strings.ReplaceAll(string(row[1]), ",", ""); got != strconv.Itoa(points) {
		t.Errorf("SECURITY.md gives %s %s fault points; it tried %d: update the Evidence table", test, row[1], points)
	}
}

// walkFaults runs every operation at every failure point for each mode and
// returns how many points it tried. warm loads the keyring before arming.
func walkFaults(t *testing.T, modes []faults.Mode, warm bool) int {
	keeper := coffertest.RandomKeeper(t)
	defer keeper.Close()
	points := 0
	for _, op := range faultOps {
		// The reference: the operation on an identical store, no faults.
		ref := newFaultStore(t, keeper, op.empty)
		before := ref.state(t)
		m := ref.manager(t)
		want, werr := op.run(coffer.WithActor(context.Background(), "op"), m)
		m.Close()
		after := ref.state(t)
		if !errors.Is(werr, op.fails) {
			t.Fatalf("%s without faults: %v, want %v", op.name, werr, op.fails)
		}
		for _, mode := range modes {
			for n := 1; ; n++ {
				if n > 100 {
					t.Fatalf("%s/%v: still reaching call %d", op.name, mode, n)
				}
				done := faultPoint(t, op, mode, n, warm && !op.empty, keeper, before, after, want)
				points++
				if done {
					break
				}
			}
		}
	}
	return points
}

// garbageKept lists the fault points where a corrupted keeper answer
// (Garbage) led to values no fresh Manager opens, for the test log.
var garbageKept []string

// sameOrUnopenable reports whether got equals want once every envelope that
// no longer opens and every wrapped key that no longer unwraps is taken as
// want's: corruption may make a value unreadable (ErrDecrypt), but it must
// never change one value into another or touch anything else.
func sameOrUnopenable(want, got map[string]map[string]any) bool {
	fixed := map[string]map[string]any{}
	for id, doc := range got {
		d := map[string]any{}
		for f, v := range doc {
			d[f] = v
		}
		if s, ok := d["Sealed"].(string); ok && strings.HasPrefix(s, "DOES NOT OPEN") && want[id] != nil {
			d["Sealed"] = want[id]["Sealed"]
		}
		if keys, ok := d["Keys"].([]string); ok && want[id] != nil && strings.Contains(strings.Join(keys, ","), "unwraps: false") {
			d["Keys"] = want[id]["Keys"]
		}
		fixed[id] = d
	}
	return cmp.Diff(want, fixed) == ""
}

// keyringOnly reports whether got is before plus a keyring that unwraps: an
// operation on an empty store that created the keyring and then failed.
// The keyring is a prerequisite, created once for the collection.
func keyringOnly(before, got map[string]map[string]any) bool {
	if before[layout.KeyringID] != nil || got[layout.KeyringID] == nil {
		return false
	}
	rest := map[string]map[string]any{}
	for id, doc := range got {
		if id != layout.KeyringID {
			rest[id] = doc
		}
	}
	keys := got[layout.KeyringID]["Keys"].([]string)
	return cmp.Diff(before, rest) == "" && len(keys) == 1 && strings.HasSuffix(keys[0], "unwraps: true")
}

// faultPoint runs op with call n armed to fault with mode and checks the
// outcome. It reports whether the operation finished without reaching call n.
func faultPoint(t *testing.T, op faultOp, mode faults.Mode, n int, warm bool, keeper *secrets.Keeper,
	before, after map[string]map[string]any, want any) (done bool) {
	t.Helper()
	s := newFaultStore(t, keeper, op.empty)
	in := &faults.Injector{}
	drv, err := faults.DriverOf(s.raw)
	if err != nil {
		t.Fatal(err)
	}
	// The wrapped collection shares the raw one's driver; closing the
	// Manager does not close either, and the raw one is left to the GC.
	coll := faults.NewCollection(drv, in)
	fkeeper := faults.NewKeeper(keeper, in)
	m, err := coffer.New(coll, fkeeper, s.opts)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithCancel(coffer.WithActor(context.Background(), "op"))
	defer cancel()
	if mode == faults.Hang {
		in.OnFire = func(string) { cancel() }
	}
	if warm {
		if _, err := m.Reveal(ctx, "API_KEY"); err != nil {
			t.Fatal(err)
		}
	}
	in.Arm(n, mode)
	got, err := op.run(ctx, m)
	in.Disarm()
	fired := in.Fired()
	where := fmt.Sprintf("%s, %v at call %d (%s)", op.name, mode, n, fired)
	if warm {
		where += ", warm keyring"
	}

	state := s.state(t)
	s.noPlaintext(t)
	if mode != faults.Garbage {
		for id, doc := range state {
			if v, _ := doc["Sealed"].(string); strings.HasPrefix(v, "DOES NOT OPEN") {
				t.Errorf("%s: left record %s that Reveal cannot open: %s", where, id, v)
			}
		}
	}
	if err != nil && strings.Contains(err.Error(), "d4f1e9") {
		t.Errorf("%s: error shows a value: %v", where, err)
	}
	if fired == "" {
		// Call n was never reached: the operation ran without faults.
		if !errors.Is(err, op.fails) || cmp.Diff(want, got) != "" || cmp.Diff(after, state) != "" {
			t.Fatalf("%s: without a fault: err %v, want %v; result (-want +got):\n%s\nstate (-want +got):\n%s",
				where, err, op.fails, cmp.Diff(want, got), cmp.Diff(after, state))
		}
		return true
	}
	if mode == faults.Garbage && !sameOrUnopenable(after, state) && !sameOrUnopenable(before, state) {
		t.Errorf("%s: corrupted data changed the store beyond values that no longer open (-after +got):\n%s", where, cmp.Diff(after, state))
	}
	if mode == faults.Garbage && (cmp.Diff(after, state) != "" && cmp.Diff(before, state) != "") {
		// Documented in SECURITY.md: a keeper that unwraps a data key to
		// wrong bytes without an error (no authenticated keeper does) makes
		// this process seal new values no one can open. Corrupted answers
		// from the store are never written back.
		if !strings.HasPrefix(fired, "keeper.Decrypt") {
			t.Errorf("%s: a corrupted store answer was written back (-after +got):\n%s", where, cmp.Diff(after, state))
		}
		garbageKept = append(garbageKept, where)
		return false
	}
	if err == nil || (op.fails != nil && errors.Is(err, op.fails)) {
		// The operation survived the fault (a courtesy step failed, or a
		// retry recovered): it must have done exactly its job.
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: survived the fault with a different result (-want +got):\n%s", where, diff)
		}
		if diff := cmp.Diff(after, state); diff != "" {
			t.Errorf("%s: survived the fault but the store is not as after the operation (-want +got):\n%s", where, diff)
		}
		return false
	}
	var clear bool
	switch mode {
	case faults.Fail, faults.FailAfter:
		clear = errors.Is(err, faults.ErrInjected)
	case faults.Hang:
		clear = errors.Is(err, context.Canceled)
	case faults.Garbage:
		clear = errors.Is(err, coffer.ErrDecrypt)
	}
	if !clear {
		t.Errorf("%s: error %q does not say what failed", where, err)
	}
	if cmp.Diff(before, state) != "" && cmp.Diff(after, state) != "" && !keyringOnly(before, state) {
		t.Errorf("%s: failed with %q and left the store neither as before nor as after:\nvs before (-want +got):\n%s\nvs after (-want +got):\n%s",
			where, err, cmp.Diff(before, state), cmp.Diff(after, state))
	}
	return false
}
