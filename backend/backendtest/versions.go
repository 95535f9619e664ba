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

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/layout"
)

// stepClock is a clock for Options.Now that moves only when told, so each
// version of a test gets its own time.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStepClock() *stepClock { return &stepClock{now: FixedNow} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// step moves the clock one minute on and returns the new time.
func (c *stepClock) step() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Minute)
	return c.now
}

// as returns ctx attributed to actor.
func as(actor string) context.Context {
	return coffer.WithActor(context.Background(), actor)
}

func mustUpdate(t *testing.T, ctx context.Context, m *coffer.Manager, key string, c coffer.Change) coffer.Secret {
	t.Helper()
	s, err := m.Update(ctx, key, c)
	if err != nil {
		t.Fatalf("Update(%s): %v", key, err)
	}
	return s
}

func mustVersions(t *testing.T, m *coffer.Manager, key string) []coffer.Version {
	t.Helper()
	vs, err := m.Versions(context.Background(), key)
	if err != nil {
		t.Fatalf("Versions(%s): %v", key, err)
	}
	return vs
}

// versionNumbers returns the version numbers of a Versions answer.
func versionNumbers(vs []coffer.Version) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Version
	}
	return out
}

// wantRevealVersion fails the test unless m reveals want as version n of key.
func wantRevealVersion(t *testing.T, m *coffer.Manager, key string, n int, want coffer.Value) {
	t.Helper()
	v, err := m.RevealVersion(context.Background(), key, n)
	if err != nil || v != want {
		t.Errorf("RevealVersion(%s, %d) = %q, %v; want %q", key, n, string(v), err, string(want))
	}
}

// wantNoVersion fails the test unless version n of key is not found.
func wantNoVersion(t *testing.T, m *coffer.Manager, key string, n int) {
	t.Helper()
	v, err := m.RevealVersion(context.Background(), key, n)
	if !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("RevealVersion(%s, %d) = %q, %v; want ErrNotFound", key, n, string(v), err)
	}
}

// envelope returns the envelope the store holds for the secret key of the
// default project and environment: the bytes a version was stored as while
// it was current.
func envelope(t *testing.T, coll *docstore.Collection, key string) []byte {
	t.Helper()
	rec := layout.NewRecord(coffer.DefaultName, coffer.DefaultName, key)
	if err := coll.Get(context.Background(), rec); err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return rec.Sealed
}

// noneStored fails the test if any stored document holds one of the
// envelopes of destroyed (by name, e.g. "version 2").
func noneStored(t *testing.T, coll *docstore.Collection, destroyed map[string][]byte) {
	t.Helper()
	docs := Snapshot(t, coll)
	for name, env := range destroyed {
		for _, where := range FindPlaintext(docs, env) {
			t.Errorf("%s still holds the envelope of %s", where, name)
		}
	}
}

// historyIDs returns the IDs of the stored version documents of key.
func historyIDs(t *testing.T, coll *docstore.Collection, key string) []string {
	t.Helper()
	var out []string
	scope := layout.HistoryScope(coffer.DefaultName, coffer.DefaultName, key)
	for id, doc := range Snapshot(t, coll) {
		if doc[layout.PartitionKey] == scope {
			out = append(out, id)
		}
	}
	return keysOfSet(out)
}

func keysOfSet(ids []string) []string {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return keysOfMap(m)
}

func versionIDs(key string, versions ...int) []string {
	out := []string{}
	for _, v := range versions {
		out = append(out, layout.VersionID(coffer.DefaultName, coffer.DefaultName, key, v))
	}
	return keysOfSet(out)
}

// testVersions: every value change keeps the value it replaces, each with
// when and by whom it was set; description edits make no version, and do
// not lose who set the value; Versions lists newest first and
// RevealVersion opens each; both make no keeper call once the keyring is
// loaded, and Versions none at all.
func testVersions(t *testing.T, h Harness) {
	clock := newStepClock()
	e := newEnv(t, h, &coffer.Options{Now: clock.Now})
	t1 := clock.Now()
	if _, err := e.m.Create(as("alice"), coffer.NewSecret{Key: "DB_PASSWORD", Value: "one", Description: "d1"}); err != nil {
		t.Fatal(err)
	}
	want := []coffer.Version{{Version: 1, CreatedAt: t1, CreatedBy: "alice", Current: true}}
	if diff := cmp.Diff(want, mustVersions(t, e.m, "DB_PASSWORD")); diff != "" {
		t.Errorf("Versions after Create (-want +got):\n%s", diff)
	}
	t2 := clock.step()
	mustUpdate(t, as("bob"), e.m, "DB_PASSWORD", coffer.Change{Value: "two"})
	clock.step()
	// A description edit by carol after bob's value change: no version,
	// and bob still set version 2.
	if s := mustUpdate(t, as("carol"), e.m, "DB_PASSWORD", coffer.Change{Description: ptr("d2")}); s.Version != 2 || s.UpdatedBy != "carol" {
		t.Errorf("description edit: %+v", s)
	}
	clock.step()
	mustUpdate(t, as("carol"), e.m, "DB_PASSWORD", coffer.Change{Description: ptr("d3")})
	t5 := clock.step()
	s := mustUpdate(t, as("dave"), e.m, "DB_PASSWORD", coffer.Change{Value: "three", Description: ptr("d4")})
	if s.Version != 3 || s.Description != "d4" {
		t.Errorf("Update: %+v", s)
	}
	want = []coffer.Version{
		{Version: 3, CreatedAt: t5, CreatedBy: "dave", Current: true},
		{Version: 2, CreatedAt: t2, CreatedBy: "bob"},
		{Version: 1, CreatedAt: t1, CreatedBy: "alice"},
	}
	if diff := cmp.Diff(want, mustVersions(t, e.m, "DB_PASSWORD")); diff != "" {
		t.Errorf("Versions (-want +got):\n%s", diff)
	}
	clock.step()
	mustUpdate(t, as("erin"), e.m, "DB_PASSWORD", coffer.Change{Description: ptr("d5")})
	if got := mustVersions(t, e.m, "DB_PASSWORD"); len(got) != 3 || got[0].CreatedBy != "dave" {
		t.Errorf("after a description edit, Versions = %+v; want dave's version 3 first", got)
	}

	// A cold Manager lists versions without the keeper, and reveals each
	// with one keeper call in all (loading the keyring).
	counter := cryptotest.NewCountingKeeper(e.keeper)
	cold, err := coffer.New(e.coll, counter.Keeper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cold.Close() })
	if diff := cmp.Diff(want, mustVersions(t, cold, "DB_PASSWORD")); diff != "" {
		t.Errorf("Versions by a cold Manager (-want +got):\n%s", diff)
	}
	if n := counter.Decrypts() + counter.Encrypts(); n != 0 {
		t.Errorf("Versions made %d keeper calls, want 0", n)
	}
	for n, v := range map[int]coffer.Value{1: "one", 2: "two", 3: "three"} {
		wantRevealVersion(t, cold, "DB_PASSWORD", n, v)
	}
	wantRevealVersion(t, cold, "DB_PASSWORD", 1, "one")
	if n := counter.Decrypts() + counter.Encrypts(); n != 1 {
		t.Errorf("four reveals by a cold Manager made %d keeper calls, want 1 (the keyring)", n)
	}
	for _, n := range []int{-1, 0, 4, 1 << 40} {
		wantNoVersion(t, cold, "DB_PASSWORD", n)
	}
	if _, err := cold.Versions(context.Background(), "MISSING"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Versions of a missing key: %v", err)
	}
	if _, err := cold.RevealVersion(context.Background(), "db_password", 1); !errors.Is(err, coffer.ErrNotFound) ||
		!strings.Contains(err.Error(), "did you mean DB_PASSWORD?") {
		t.Errorf("RevealVersion of a missing key: %v; want ErrNotFound with a suggestion", err)
	}
	for _, bad := range []string{"", "BAD-KEY"} {
		if _, err := cold.Versions(context.Background(), bad); !errors.Is(err, coffer.ErrKeyRequired) && !errors.Is(err, coffer.ErrInvalidKey) {
			t.Errorf("Versions(%q): %v", bad, err)
		}
		if _, err := cold.RevealVersion(context.Background(), bad, 1); !errors.Is(err, coffer.ErrKeyRequired) && !errors.Is(err, coffer.ErrInvalidKey) {
			t.Errorf("RevealVersion(%q): %v", bad, err)
		}
	}
	wantRevealVersion(t, e.m, "DB_PASSWORD", 2, "two")
	// List never reads history: it shows the secret once, at version 3.
	list, err := e.m.List(context.Background())
	if err != nil || len(list) != 1 || list[0].Version != 3 {
		t.Errorf("List = %+v, %v; want DB_PASSWORD at version 3 only", list, err)
	}
	for _, op := range []string{`"op":"versions"`, `"op":"reveal_version"`, `"version":2`} {
		if !strings.Contains(e.audit.String(), op) {
			t.Errorf("audit log lacks %s", op)
		}
	}
}

// testVersionsPruning: at most MaxVersions versions, the current one
// included; older values are destroyed, not hidden: no document holds their
// envelopes. A lowered MaxVersions prunes on the next Versions; values of
// the largest size fit every store; MaxVersions 1 keeps no history.
func testVersionsPruning(t *testing.T, h Harness) {
	e := newEnv(t, h, &coffer.Options{MaxVersions: 3})
	ctx := context.Background()
	mustCreate(t, e.m, "TOKEN", "v1")
	envelopes := map[string][]byte{"version 1": envelope(t, e.coll, "TOKEN")}
	for i := 2; i <= 6; i++ {
		mustUpdate(t, ctx, e.m, "TOKEN", coffer.Change{Value: coffer.Value(fmt.Sprint("v", i))})
		envelopes[fmt.Sprint("version ", i)] = envelope(t, e.coll, "TOKEN")
	}
	// Checked before any Versions call, which would destroy what the value
	// changes failed to prune.
	if diff := cmp.Diff(versionIDs("TOKEN", 4, 5), historyIDs(t, e.coll, "TOKEN")); diff != "" {
		t.Errorf("stored version documents (-want +got):\n%s", diff)
	}
	destroyed := map[string][]byte{}
	for n := 1; n <= 3; n++ {
		name := fmt.Sprint("version ", n)
		destroyed[name] = envelopes[name]
	}
	noneStored(t, e.coll, destroyed)
	if diff := cmp.Diff([]int{6, 5, 4}, versionNumbers(mustVersions(t, e.m, "TOKEN"))); diff != "" {
		t.Errorf("Versions (-want +got):\n%s", diff)
	}
	for n := 1; n <= 3; n++ {
		wantNoVersion(t, e.m, "TOKEN", n)
		if _, err := e.m.Rollback(ctx, "TOKEN", n); !errors.Is(err, coffer.ErrNotFound) {
			t.Errorf("Rollback to pruned version %d: %v", n, err)
		}
	}
	for n := 4; n <= 6; n++ {
		wantRevealVersion(t, e.m, "TOKEN", n, coffer.Value(fmt.Sprint("v", n)))
	}

	// A Manager keeping more does not bring pruned versions back; one
	// keeping fewer prunes on its next Versions, and destroys them.
	more := e.other(t, &coffer.Options{MaxVersions: 5})
	mustUpdate(t, ctx, more, "TOKEN", coffer.Change{Value: "v7"})
	envelopes["version 7"] = envelope(t, e.coll, "TOKEN")
	if diff := cmp.Diff([]int{7, 6, 5, 4}, versionNumbers(mustVersions(t, more, "TOKEN"))); diff != "" {
		t.Errorf("Versions keeping 5 (-want +got):\n%s", diff)
	}
	fewer := e.other(t, &coffer.Options{MaxVersions: 2})
	if diff := cmp.Diff([]int{7, 6}, versionNumbers(mustVersions(t, fewer, "TOKEN"))); diff != "" {
		t.Errorf("Versions keeping 2 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(versionIDs("TOKEN", 6), historyIDs(t, e.coll, "TOKEN")); diff != "" {
		t.Errorf("stored version documents after Versions keeping 2 (-want +got):\n%s", diff)
	}
	destroyed["version 4"], destroyed["version 5"] = envelopes["version 4"], envelopes["version 5"]
	noneStored(t, e.coll, destroyed)

	// MaxVersions 1: no history, and the last kept version is destroyed by
	// the next value change.
	none := e.other(t, &coffer.Options{MaxVersions: 1})
	mustUpdate(t, ctx, none, "TOKEN", coffer.Change{Value: "v8"})
	if diff := cmp.Diff(versionIDs("TOKEN", 6), historyIDs(t, e.coll, "TOKEN")); diff != "" {
		// A value change prunes one version (here 7, which was never
		// kept); version 6 is left for Versions to destroy.
		t.Errorf("stored version documents keeping 1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{8}, versionNumbers(mustVersions(t, none, "TOKEN"))); diff != "" {
		t.Errorf("Versions keeping 1 (-want +got):\n%s", diff)
	}
	if ids := historyIDs(t, e.coll, "TOKEN"); len(ids) != 0 {
		t.Errorf("stored version documents after Versions keeping 1: %v", ids)
	}
	destroyed["version 6"], destroyed["version 7"] = envelopes["version 6"], envelopes["version 7"]
	noneStored(t, e.coll, destroyed)
	wantNoVersion(t, e.m, "TOKEN", 7)

	// The largest values: each version is a document of its own, so ten
	// of them fit every store (a DynamoDB item holds 400 KB).
	big := e.other(t, nil)
	for i := range 4 {
		v := coffer.Value(strings.Repeat(fmt.Sprint(i), coffer.DefaultMaxValueBytes))
		if i == 0 {
			if _, err := big.Create(ctx, coffer.NewSecret{Key: "BIG", Value: v}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		mustUpdate(t, ctx, big, "BIG", coffer.Change{Value: v})
	}
	for i := range 4 {
		wantRevealVersion(t, big, "BIG", i+1, coffer.Value(strings.Repeat(fmt.Sprint(i), coffer.DefaultMaxValueBytes)))
	}
}

// testVersionsDeleteDestroysAll: Delete destroys every version with the
// record. Version documents an interrupted Delete left behind are never
// shown or opened for a secret created again under the key — even one
// created in the same millisecond — and a later Delete destroys them.
func testVersionsDeleteDestroysAll(t *testing.T, h Harness) {
	clock := newStepClock()
	e := newEnv(t, h, &coffer.Options{Now: clock.Now})
	ctx := context.Background()
	fill := func(key, prefix string) map[string][]byte {
		envs := map[string][]byte{}
		mustCreate(t, e.m, key, prefix+"1")
		envs[prefix+"1"] = envelope(t, e.coll, key)
		for i := 2; i <= 4; i++ {
			mustUpdate(t, ctx, e.m, key, coffer.Change{Value: coffer.Value(fmt.Sprint(prefix, i))})
			envs[fmt.Sprint(prefix, i)] = envelope(t, e.coll, key)
		}
		mustUpdate(t, ctx, e.m, key, coffer.Change{Description: ptr("edited")})
		return envs
	}
	envs := fill("GONE", "old-")
	mustCreate(t, e.m, "KEPT", "kept")
	mustUpdate(t, ctx, e.m, "KEPT", coffer.Change{Value: "kept-2"})
	if err := e.m.Delete(ctx, "GONE"); err != nil {
		t.Fatal(err)
	}
	if ids := historyIDs(t, e.coll, "GONE"); len(ids) != 0 {
		t.Errorf("version documents left after Delete: %v", ids)
	}
	noneStored(t, e.coll, envs)
	wantRevealVersion(t, e.m, "KEPT", 1, "kept")
	if _, err := e.m.Versions(ctx, "GONE"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Versions after Delete: %v", err)
	}

	// An interrupted Delete: the record is gone, its versions are not.
	for _, sameTime := range []bool{true, false} {
		t.Run(fmt.Sprint("recreated in the same millisecond: ", sameTime), func(t *testing.T) {
			envs := fill("AGAIN", "old-")
			oldVersion2 := Snapshot(t, e.coll)[layout.VersionID(coffer.DefaultName, coffer.DefaultName, "AGAIN", 2)]
			delete(oldVersion2, "DocstoreRevision")
			if err := e.coll.Delete(ctx, layout.NewRecord(coffer.DefaultName, coffer.DefaultName, "AGAIN")); err != nil {
				t.Fatal(err)
			}
			if len(historyIDs(t, e.coll, "AGAIN")) == 0 {
				t.Fatal("no version documents to leave behind")
			}
			if list, err := e.m.List(ctx); err != nil || strings.Contains(fmt.Sprint(Keys(list)), "AGAIN") {
				t.Errorf("List after an interrupted Delete: %v, %v", Keys(list), err)
			}
			if !sameTime {
				clock.step()
			}
			mustCreate(t, e.m, "AGAIN", "new-1")
			// Reveals and rollbacks first: Versions destroys what it
			// finds of the earlier secret.
			wantRevealVersion(t, e.m, "AGAIN", 1, "new-1")
			for n := 2; n <= 4; n++ {
				wantNoVersion(t, e.m, "AGAIN", n)
				if _, err := e.m.Rollback(ctx, "AGAIN", n); !errors.Is(err, coffer.ErrNotFound) {
					t.Errorf("Rollback of the new secret to its predecessor's version %d: %v", n, err)
				}
			}
			if diff := cmp.Diff([]int{1}, versionNumbers(mustVersions(t, e.m, "AGAIN"))); diff != "" {
				t.Errorf("Versions of the new secret (-want +got):\n%s", diff)
			}
			mustUpdate(t, ctx, e.m, "AGAIN", coffer.Change{Value: "new-2"})
			mustUpdate(t, ctx, e.m, "AGAIN", coffer.Change{Value: "new-3"})
			if diff := cmp.Diff([]int{3, 2, 1}, versionNumbers(mustVersions(t, e.m, "AGAIN"))); diff != "" {
				t.Errorf("Versions of the new secret (-want +got):\n%s", diff)
			}
			for n, v := range []coffer.Value{"new-1", "new-2", "new-3"} {
				wantRevealVersion(t, e.m, "AGAIN", n+1, v)
			}
			wantNoVersion(t, e.m, "AGAIN", 4)
			noneStored(t, e.coll, envs) // overwritten, or destroyed by Versions
			if !sameTime {
				// The earlier secret's version 2 put back over the new
				// one's (a store that replays a document): it is not the
				// new secret's, so it is not found rather than opened.
				if err := e.coll.Put(ctx, oldVersion2); err != nil {
					t.Fatal(err)
				}
				_, err := e.m.RevealVersion(ctx, "AGAIN", 2)
				if !errors.Is(err, coffer.ErrNotFound) || errors.Is(err, coffer.ErrDecrypt) {
					t.Errorf("RevealVersion of a replayed version of the earlier secret: %v; want ErrNotFound", err)
				}
				if _, err := e.m.Rollback(ctx, "AGAIN", 2); !errors.Is(err, coffer.ErrNotFound) {
					t.Errorf("Rollback to a replayed version of the earlier secret: %v; want ErrNotFound", err)
				}
			}
			if err := e.m.Delete(ctx, "AGAIN"); err != nil {
				t.Fatal(err)
			}
			if ids := historyIDs(t, e.coll, "AGAIN"); len(ids) != 0 {
				t.Errorf("version documents left after Delete: %v", ids)
			}
		})
	}

	// Delete of a missing key finishes what an interrupted Delete left.
	envs = fill("HALF", "half-")
	if err := e.coll.Delete(ctx, layout.NewRecord(coffer.DefaultName, coffer.DefaultName, "HALF")); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(ctx, "HALF"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Delete after an interrupted Delete: %v, want ErrNotFound", err)
	}
	if ids := historyIDs(t, e.coll, "HALF"); len(ids) != 0 {
		t.Errorf("version documents left after a second Delete: %v", ids)
	}
	noneStored(t, e.coll, envs)
	wantRevealVersion(t, e.m, "KEPT", 1, "kept")
}

// testRollback: rolling back makes an earlier value current again as a new
// version, keeping the description; the current version gives
// ErrNoChanges and an unknown one ErrNotFound, changing nothing.
func testRollback(t *testing.T, h Harness) {
	clock := newStepClock()
	e := newEnv(t, h, &coffer.Options{Now: clock.Now})
	ctx := as("ops")
	if _, err := e.m.Create(as("alice"), coffer.NewSecret{Key: "API_KEY", Value: "a", Description: "payments"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []coffer.Value{"b", "c", "d"} {
		clock.step()
		mustUpdate(t, as("bob"), e.m, "API_KEY", coffer.Change{Value: v})
	}
	before := Snapshot(t, e.coll)
	for _, tt := range []struct {
		version int
		want    error
	}{{4, coffer.ErrNoChanges}, {5, coffer.ErrNotFound}, {0, coffer.ErrNotFound}, {-3, coffer.ErrNotFound}} {
		s, err := e.m.Rollback(ctx, "API_KEY", tt.version)
		if !errors.Is(err, tt.want) || s != (coffer.Secret{}) {
			t.Errorf("Rollback to %d = %+v, %v; want %v", tt.version, s, err, tt.want)
		}
	}
	if _, err := e.m.Rollback(ctx, "MISSING", 1); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Rollback of a missing key: %v", err)
	}
	if _, err := e.m.Rollback(ctx, "BAD-KEY", 1); !errors.Is(err, coffer.ErrInvalidKey) {
		t.Errorf("Rollback of a bad key: %v", err)
	}
	Unchanged(t, e.coll, before)

	at := clock.step()
	s, err := e.m.Rollback(ctx, "API_KEY", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := coffer.Secret{Key: "API_KEY", Description: "payments", Project: "default", Environment: "default", Type: coffer.TypeAPIKey,
		CreatedAt: FixedNow, UpdatedAt: at, RotatedAt: at, CreatedBy: "alice", UpdatedBy: "ops", Version: 5}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("Rollback (-want +got):\n%s", diff)
	}
	wantReveal(t, e.m, "API_KEY", "b")
	vs := mustVersions(t, e.m, "API_KEY")
	if diff := cmp.Diff([]int{5, 4, 3, 2, 1}, versionNumbers(vs)); diff != "" {
		t.Errorf("Versions after Rollback (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(coffer.Version{Version: 5, CreatedAt: at, CreatedBy: "ops", Current: true}, vs[0]); diff != "" {
		t.Errorf("rolled-back version (-want +got):\n%s", diff)
	}
	for n, v := range []coffer.Value{"a", "b", "c", "d", "b"} {
		wantRevealVersion(t, e.m, "API_KEY", n+1, v)
	}
	// Rolling back twice is two versions; the one rolled back from is kept.
	if s, err := e.m.Rollback(ctx, "API_KEY", 4); err != nil || s.Version != 6 {
		t.Fatalf("second Rollback: %+v, %v", s, err)
	}
	wantReveal(t, e.m, "API_KEY", "d")
	if !strings.Contains(e.audit.String(), `"op":"rollback"`) || !strings.Contains(e.audit.String(), `"version":4`) {
		t.Error("audit log lacks the rollback and its version")
	}
}

// testCheckAndSet: Change.IfVersion applies a change only while the secret
// is at that version; a stale one is ErrConflict at once and changes
// nothing. Of N writers racing from one version, exactly one wins.
func testCheckAndSet(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "K", "v1")
	mustUpdate(t, ctx, e.m, "K", coffer.Change{Value: "v2"})
	before := Snapshot(t, e.coll)
	for _, c := range []coffer.Change{
		{Value: "stale", IfVersion: 1},
		{Description: ptr("stale"), IfVersion: 1},
		{Value: "ahead", IfVersion: 3},
	} {
		s, err := e.m.Update(ctx, "K", c)
		if !errors.Is(err, coffer.ErrConflict) || s != (coffer.Secret{}) {
			t.Errorf("Update with IfVersion %d = %+v, %v; want ErrConflict", c.IfVersion, s, err)
		}
	}
	if _, err := e.m.Update(ctx, "K", coffer.Change{Value: "x", IfVersion: -1}); !errors.Is(err, coffer.ErrInvalidOptions) {
		t.Errorf("Update with IfVersion -1: %v, want ErrInvalidOptions", err)
	}
	if _, err := e.m.Update(ctx, "MISSING", coffer.Change{Value: "x", IfVersion: 1}); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Update of a missing key with IfVersion: %v, want ErrNotFound", err)
	}
	Unchanged(t, e.coll, before)
	// A description edit does not move the version: the same IfVersion
	// still applies after it.
	if s := mustUpdate(t, ctx, e.m, "K", coffer.Change{Description: ptr("d"), IfVersion: 2}); s.Version != 2 {
		t.Errorf("description edit at version 2: %+v", s)
	}
	if s := mustUpdate(t, ctx, e.m, "K", coffer.Change{Value: "v3", IfVersion: 2}); s.Version != 3 {
		t.Errorf("value change at version 2: %+v", s)
	}

	// Racing writers, half of them other Managers, all from version 3.
	const racers = 8
	for round := range 3 {
		from := 3 + round
		var wg sync.WaitGroup
		var wins, conflicts atomic.Int64
		var winner atomic.Value
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			m := e.m
			if i%2 == 1 {
				m = e.other(t, nil)
			}
			go func() {
				defer wg.Done()
				<-start
				v := coffer.Value(fmt.Sprintf("round %d racer %d", round, i))
				_, err := m.Update(ctx, "K", coffer.Change{Value: v, IfVersion: from})
				switch {
				case err == nil:
					wins.Add(1)
					winner.Store(v)
				case errors.Is(err, coffer.ErrConflict):
					conflicts.Add(1)
				default:
					t.Errorf("racing Update: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != racers-1 {
			t.Fatalf("round %d: %d wins and %d conflicts; want 1 and %d", round, wins.Load(), conflicts.Load(), racers-1)
		}
		wantReveal(t, e.m, "K", winner.Load().(coffer.Value))
		if s, err := e.m.Get(ctx, "K"); err != nil || s.Version != from+1 {
			t.Errorf("round %d: version %d, %v; want %d", round, s.Version, err, from+1)
		}
		if diff := cmp.Diff([]int{from + 1, from, from - 1}, versionNumbers(mustVersions(t, e.m, "K"))[:3]); diff != "" {
			t.Errorf("round %d: versions (-want +got):\n%s", round, diff)
		}
	}
}

// testExistingStoreWithoutHistory: records written with no history (as by
// coffer before it kept versions) keep working: Versions lists the current
// one, and the next value change starts keeping them.
func testExistingStoreWithoutHistory(t *testing.T, h Harness) {
	clock := newStepClock()
	e := newEnv(t, h, &coffer.Options{MaxVersions: 1, Now: clock.Now})
	ctx := context.Background()
	if _, err := e.m.Create(as("alice"), coffer.NewSecret{Key: "OLD", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	t2 := clock.step()
	mustUpdate(t, as("bob"), e.m, "OLD", coffer.Change{Value: "v2"})
	clock.step()
	mustUpdate(t, as("carol"), e.m, "OLD", coffer.Change{Description: ptr("edited")})
	if ids := historyIDs(t, e.coll, "OLD"); len(ids) != 0 {
		t.Fatalf("MaxVersions 1 stored history: %v", ids)
	}
	m := e.other(t, &coffer.Options{Now: clock.Now})
	// Who set version 2 is unknown: carol's description edit came after
	// it, and nothing kept bob's name.
	if diff := cmp.Diff([]coffer.Version{{Version: 2, CreatedAt: t2, Current: true}}, mustVersions(t, m, "OLD")); diff != "" {
		t.Errorf("Versions (-want +got):\n%s", diff)
	}
	wantNoVersion(t, m, "OLD", 1)
	clock.step()
	mustUpdate(t, as("dave"), m, "OLD", coffer.Change{Value: "v3"})
	wantRevealVersion(t, m, "OLD", 2, "v2")
	if s, err := m.Rollback(ctx, "OLD", 2); err != nil || s.Version != 4 {
		t.Fatalf("Rollback: %+v, %v", s, err)
	}
	wantReveal(t, m, "OLD", "v2")
	if diff := cmp.Diff([]int{4, 3, 2}, versionNumbers(mustVersions(t, m, "OLD"))); diff != "" {
		t.Errorf("Versions after Rollback (-want +got):\n%s", diff)
	}
}

// testResealCoversHistory: after RotateDataKey and Reseal, no stored value,
// current or kept, is under an older data key, and every version still
// opens for a Manager starting cold.
func testResealCoversHistory(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	prod := must(t)(e.m.Environment("production"))
	for _, m := range []*coffer.Manager{e.m, prod} {
		for _, key := range []string{"A", "B"} {
			mustCreate(t, m, key, key+"1")
			for i := 2; i <= 3; i++ {
				mustUpdate(t, ctx, m, key, coffer.Change{Value: coffer.Value(fmt.Sprint(key, i))})
			}
		}
	}
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	// A version kept after the rotation is sealed under the new key.
	mustUpdate(t, ctx, e.m, "A", coffer.Change{Value: "A4"})
	stats, err := e.m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 4 records and 9 kept versions; A's record and its version 3 were
	// written under key 2 already.
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 13, Resealed: 11, Skipped: 2}, stats); diff != "" {
		t.Errorf("Reseal (-want +got):\n%s", diff)
	}
	for id, doc := range Snapshot(t, e.coll) {
		if id == layout.KeyringID {
			continue
		}
		sealed, _ := doc["Sealed"].([]byte)
		env, err := crypto.Parse(sealed)
		if err != nil || env.KeyID != 2 {
			t.Errorf("%s sealed under data key %d (%v), want 2", id, env.KeyID, err)
		}
	}
	cold := e.other(t, nil)
	coldProd := must(t)(cold.Environment("production"))
	for _, m := range []*coffer.Manager{cold, coldProd} {
		for _, key := range []string{"A", "B"} {
			for i := 1; i <= 3; i++ {
				wantRevealVersion(t, m, key, i, coffer.Value(fmt.Sprint(key, i)))
			}
		}
	}
	wantRevealVersion(t, cold, "A", 4, "A4")
}

// testVersionsCanary: versions, rollbacks and their failures show no value
// in a result, error or audit event, and the store holds none in clear.
func testVersionsCanary(t *testing.T, h Harness) {
	e := newEnv(t, h, &coffer.Options{MaxValueBytes: 64})
	ctx := coffer.WithActor(context.Background(), "tester")
	m := e.m
	var texts []string
	record := func(what string, x any, err error) {
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
		if x != nil {
			texts = append(texts, renderings(x)...)
		}
		noCanary(t, what, texts...)
		texts = texts[:0]
	}
	mustCreate(t, m, "PAYMENT_TOKEN", canary)
	s, err := m.Update(ctx, "PAYMENT_TOKEN", coffer.Change{Value: canary + "-2"})
	record("Update", s, err)
	_, err = m.Update(ctx, "PAYMENT_TOKEN", coffer.Change{Value: canary + "-3", IfVersion: 1})
	record("stale Update", nil, err)
	vs, err := m.Versions(ctx, "PAYMENT_TOKEN")
	record("Versions", vs, err)
	v, err := m.RevealVersion(ctx, "PAYMENT_TOKEN", 1)
	record("RevealVersion", v, err)
	if string(v) != canary {
		t.Errorf("RevealVersion returned %d bytes, not the canary", len(v))
	}
	_, err = m.RevealVersion(ctx, "PAYMENT_TOKEN", 9)
	record("RevealVersion of a missing version", nil, err)
	s, err = m.Rollback(ctx, "PAYMENT_TOKEN", 1)
	record("Rollback", s, err)
	_, err = m.Rollback(ctx, "PAYMENT_TOKEN", 3)
	record("Rollback to the current version", nil, err)
	_, err = m.Rollback(ctx, "PAYMENT_TOKEN", 9)
	record("Rollback to a missing version", nil, err)
	NoPlaintext(t, e.coll, canary, canaryCore)
	noCanary(t, "audit log", e.audit.String())
}
