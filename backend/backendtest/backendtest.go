// Package backendtest is the conformance suite every collection coffer runs
// on must pass: the Manager's whole contract — the rules, every error
// sentinel, isolation of projects and environments, ordering, revision
// conflicts, concurrency, cancellation, Close, versions and rollback, and
// the secrecy of values —
// checked against a real store.
//
// A backend's test wires it up with a Harness, in the style of
// gocloud.dev's drivertest:
//
//	func TestConformance(t *testing.T) {
//		backendtest.RunConformanceTests(t, newHarness)
//	}
//
// Every backend runs the same tests, so a program that moves from one store
// to another keeps the same behaviour.
package backendtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/secrets"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/coffertest"
)

// Harness makes collections on one backend.
type Harness interface {
	// MakeCollection returns a new, empty collection with coffer's layout,
	// distinct from every collection it made before. The suite closes it
	// when the test ends.
	MakeCollection(ctx context.Context, t *testing.T) (*docstore.Collection, error)
	// Close releases what the harness holds (clients, tables, databases).
	Close()
}

// HarnessMaker makes a Harness. RunConformanceTests calls it once per test,
// so a harness may keep state (a client, the tables it made) for one test.
type HarnessMaker func(ctx context.Context, t *testing.T) (Harness, error)

// RunConformanceTests runs the suite against the backend newHarness makes.
func RunConformanceTests(t *testing.T, newHarness HarnessMaker) {
	for _, tt := range []struct {
		name string
		f    func(*testing.T, Harness)
	}{
		{"CreateRules", testCreateRules},
		{"KeysAreCaseSensitive", testKeysAreCaseSensitive},
		{"UpdateRules", testUpdateRules},
		{"UpdateTimesAndActor", testUpdateTimesAndActor},
		{"BadKeyAndMissing", testBadKeyAndMissing},
		{"StoredLayout", testStoredLayout},
		{"ListSortedMetadataOnly", testListSortedMetadataOnly},
		{"Keys", testKeys},
		{"List10000", testList10000},
		{"ProjectsAndEnvironmentsAreIsolated", testProjectsAndEnvironmentsAreIsolated},
		{"DidYouMean", testDidYouMean},
		{"Require", testRequire},
		{"Environ", testEnviron},
		{"Check", testCheck},
		{"DeleteIsPermanent", testDeleteIsPermanent},
		{"ChangesTakeEffectImmediately", testChangesTakeEffectImmediately},
		{"ListSeesEveryChange", testListSeesEveryChange},
		{"StaleWritesAreConflicts", testStaleWritesAreConflicts},
		{"UpdateRetriesAfterConflict", testUpdateRetriesAfterConflict},
		{"UpdateReportsPersistentConflict", testUpdateReportsPersistentConflict},
		{"UpdateOfDeletedSecret", testUpdateOfDeletedSecret},
		{"DeleteRacesUpdates", testDeleteRacesUpdates},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdatesLoseNothing},
		{"ConcurrentUpdatesKeepBothFields", testConcurrentUpdatesKeepBothFields},
		{"RacingCreates", testRacingCreates},
		{"ConcurrentManagersShareKeyring", testConcurrentManagersShareKeyring},
		{"RotateDataKey", testRotateDataKey},
		{"RotateAndReseal", testRotateAndReseal},
		{"ContextCanceled", testContextCanceled},
		{"Close", testClose},
		{"ClosedCollection", testClosedCollection},
		{"Canary", testCanary},
		{"Versions", testVersions},
		{"VersionsPruning", testVersionsPruning},
		{"VersionsDeleteDestroysAll", testVersionsDeleteDestroysAll},
		{"Rollback", testRollback},
		{"CheckAndSet", testCheckAndSet},
		{"ExistingStoreWithoutHistory", testExistingStoreWithoutHistory},
		{"ResealCoversHistory", testResealCoversHistory},
		{"VersionsCanary", testVersionsCanary},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			h, err := newHarness(ctx, t)
			if err != nil {
				t.Fatalf("new harness: %v", err)
			}
			defer h.Close()
			tt.f(t, h)
		})
	}
}

// FixedNow is the clock of the suite's Managers, so results compare exactly.
// It is whole milliseconds: coffer keeps times to the millisecond on every
// store.
var FixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// env is one Manager with raw access to what it stores.
type env struct {
	m      *coffer.Manager
	coll   *docstore.Collection
	keeper *secrets.Keeper
	audit  *coffertest.AuditBuffer
}

// newEnv returns a Manager over a fresh collection of h, with a random
// keeper key, the fixed clock (unless opts sets one) and an audit log.
func newEnv(t *testing.T, h Harness, opts *coffer.Options) *env {
	t.Helper()
	coll, err := h.MakeCollection(context.Background(), t)
	if err != nil {
		t.Fatalf("make collection: %v", err)
	}
	f := coffertest.New(t, coll, coffertest.WithClock(opts, FixedNow))
	return &env{m: f.Manager, coll: f.Collection, keeper: f.Keeper, audit: f.Audit}
}

// other returns a second Manager on e's collection and keeper, as another
// process would have, with the real clock.
func (e *env) other(t *testing.T, opts *coffer.Options) *coffer.Manager {
	t.Helper()
	m, err := coffer.New(e.coll, e.keeper, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// Snapshot returns every stored document, keyed by ID, as the store holds
// it. It reads the whole collection (a Scan on DynamoDB). Compare two
// snapshots to prove that a call changed nothing stored.
func Snapshot(t *testing.T, coll *docstore.Collection) map[string]map[string]any {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]any{}
	it := coll.Query().Get(ctx)
	defer it.Stop()
	for {
		doc := map[string]any{}
		err := it.Next(ctx, doc)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read the whole collection: %v", err)
		}
		id, ok := doc[backend.IDField].(string)
		if !ok {
			t.Fatalf("stored document without a string %s field: %v", backend.IDField, keysOfMap(doc))
		}
		out[id] = doc
	}
}

// Unchanged fails the test when the store differs from before, a Snapshot.
// Revisions compare by value whatever their type: Firestore's is a protobuf
// Timestamp, which go-cmp compares only through protocmp.
func Unchanged(t *testing.T, coll *docstore.Collection, before map[string]map[string]any) {
	t.Helper()
	if diff := cmp.Diff(before, Snapshot(t, coll), protocmp.Transform()); diff != "" {
		t.Errorf("store changed by a rejected call (-before +after):\n%s", diff)
	}
}

// Keys returns the keys of a listing, in its order.
func Keys(list []coffer.Secret) []string {
	keys := make([]string, len(list))
	for i, s := range list {
		keys[i] = s.Key
	}
	return keys
}

func keysOfMap[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func mustCreate(t *testing.T, m *coffer.Manager, key, value string) coffer.Secret {
	t.Helper()
	s, err := m.Create(context.Background(), coffer.NewSecret{Key: key, Value: coffer.Value(value)})
	if err != nil {
		t.Fatalf("Create(%s): %v", key, err)
	}
	return s
}

// must returns a function that unwraps the Manager of Environment or
// Project, failing t on an error.
func must(t *testing.T) func(*coffer.Manager, error) *coffer.Manager {
	return func(m *coffer.Manager, err error) *coffer.Manager {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

// wantReveal fails the test unless m reveals want for key.
func wantReveal(t *testing.T, m *coffer.Manager, key string, want coffer.Value) {
	t.Helper()
	v, err := m.Reveal(context.Background(), key)
	if err != nil || v != want {
		t.Errorf("Reveal(%s) = %q, %v; want %q", key, string(v), err, string(want))
	}
}

// wantErrs fails the test unless err matches every sentinel in want.
func wantErrs(t *testing.T, what string, err error, want ...error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s succeeded; want %v", what, want)
		return
	}
	for _, w := range want {
		if !errors.Is(err, w) {
			t.Errorf("%s: error %q does not match %q", what, err, w)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func seq(prefix string, i int) string { return fmt.Sprintf("%s%05d", prefix, i) }
