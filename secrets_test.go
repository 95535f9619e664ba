package coffer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/coffertest"
)

func TestListSortedMetadataOnly(t *testing.T) {
	e := newEnv(t, &coffer.Options{Project: "shop", Environment: "staging"})
	ctx := context.Background()
	for _, k := range []string{"ZED", "ALPHA", "MIDDLE", "_UNDER", "beta"} {
		mustCreate(t, e.m, k, "v-"+k)
	}
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ALPHA", "MIDDLE", "ZED", "_UNDER", "beta"}, keysOf(list)); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
	for _, s := range list {
		if s.Project != "shop" || s.Environment != "staging" || s.Version != 1 {
			t.Errorf("List item %+v", s)
		}
	}
	empty := newEnv(t, nil)
	got, err := empty.m.List(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("List of nothing = %#v, %v; want an empty, non-nil slice", got, err)
	}
}

func TestProjectsAndEnvironmentsAreIsolated(t *testing.T) {
	e := newEnv(t, &coffer.Options{Project: "shop"})
	ctx := context.Background()
	mgr := func(m *coffer.Manager, err error) *coffer.Manager {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	dev := mgr(e.m.Environment("development"))
	prod := mgr(e.m.Environment("production"))
	blogProd := mgr(prod.Project("blog"))
	if _, err := dev.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "dev-db"}); err != nil {
		t.Fatal(err)
	}
	if _, err := prod.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "prod-db"}); err != nil {
		t.Fatal(err)
	}
	if _, err := blogProd.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "blog-db"}); err != nil {
		t.Fatal(err)
	}
	for m, want := range map[*coffer.Manager]coffer.Value{dev: "dev-db", prod: "prod-db", blogProd: "blog-db"} {
		if v, err := m.Reveal(ctx, "DATABASE_URL"); err != nil || v != want {
			t.Errorf("Reveal = %q, %v; want %q", string(v), err, string(want))
		}
		list, err := m.List(ctx)
		if err != nil || len(list) != 1 {
			t.Errorf("List = %v, %v; want one secret", keysOf(list), err)
		}
	}
	if _, err := e.m.Reveal(ctx, "DATABASE_URL"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("default environment sees another environment's secret: %v", err)
	}
	if err := prod.Delete(ctx, "DATABASE_URL"); err != nil {
		t.Fatal(err)
	}
	if v, err := dev.Reveal(ctx, "DATABASE_URL"); err != nil || v != "dev-db" {
		t.Errorf("deleting in production touched development: %q, %v", string(v), err)
	}
	s, err := blogProd.Get(ctx, "DATABASE_URL")
	if err != nil || s.Project != "blog" || s.Environment != "production" {
		t.Errorf("Get = %+v, %v", s, err)
	}
	ids := sorted(mapKeys(snapshot(t, e.coll)))
	if diff := cmp.Diff([]string{backend.KeyringID, "blog/production/DATABASE_URL", "shop/development/DATABASE_URL"}, ids); diff != "" {
		t.Errorf("stored IDs (-want +got):\n%s", diff)
	}
}

func mapKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestNames(t *testing.T) {
	e := newEnv(t, nil)
	for _, bad := range []string{"a/b", "prod env", strings.Repeat("p", 65), "ünï", "#coffer"} {
		if _, err := e.m.Environment(bad); !errors.Is(err, coffer.ErrInvalidName) {
			t.Errorf("Environment(%q): %v, want ErrInvalidName", bad, err)
		}
		if _, err := e.m.Project(bad); !errors.Is(err, coffer.ErrInvalidName) {
			t.Errorf("Project(%q): %v, want ErrInvalidName", bad, err)
		}
		if _, err := coffer.New(e.coll, e.keeper, &coffer.Options{Project: bad}); !errors.Is(err, coffer.ErrInvalidName) {
			t.Errorf("New(Project %q): %v, want ErrInvalidName", bad, err)
		}
	}
	if _, err := e.m.Environment(""); !errors.Is(err, coffer.ErrInvalidName) {
		t.Errorf("Environment(\"\"): %v", err)
	}
	for _, good := range []string{"production", "eu-west_2", strings.Repeat("p", 64), "A1"} {
		if _, err := e.m.Environment(good); err != nil {
			t.Errorf("Environment(%q): %v", good, err)
		}
	}
	if _, err := coffer.New(e.coll, e.keeper, &coffer.Options{MaxValueBytes: -1}); !errors.Is(err, coffer.ErrInvalidOptions) {
		t.Errorf("negative MaxValueBytes: %v", err)
	}
	if _, err := coffer.New(nil, e.keeper, nil); !errors.Is(err, coffer.ErrInvalidOptions) {
		t.Errorf("nil collection: %v", err)
	}
}

func TestDidYouMean(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "STRIPE_API_KEY", "v")
	tests := []struct{ key, hint string }{
		{"stripe_api_key", "did you mean STRIPE_API_KEY?"},
		{"STRIPEAPIKEY", "did you mean STRIPE_API_KEY?"},
		{"Stripe_Api__Key", "did you mean STRIPE_API_KEY?"},
		{"STRIPE_KEY", ""},
	}
	for _, tt := range tests {
		_, err := e.m.Reveal(ctx, tt.key)
		if !errors.Is(err, coffer.ErrNotFound) {
			t.Fatalf("Reveal(%s): %v", tt.key, err)
		}
		if tt.hint == "" && strings.Contains(err.Error(), "did you mean") {
			t.Errorf("Reveal(%s) suggests where nothing is close: %v", tt.key, err)
		}
		if tt.hint != "" && !strings.HasSuffix(err.Error(), tt.hint) {
			t.Errorf("Reveal(%s) = %v, want a hint %q", tt.key, err, tt.hint)
		}
	}
}

func TestRequire(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "DATABASE_URL", "v")
	mustCreate(t, e.m, "SMTP_PASSWORD", "v")
	if err := e.m.Require(ctx, "DATABASE_URL", "SMTP_PASSWORD"); err != nil {
		t.Errorf("Require of present keys: %v", err)
	}
	if err := e.m.Require(ctx); err != nil {
		t.Errorf("Require of nothing: %v", err)
	}
	err := e.m.Require(ctx, "DATABASE_URL", "database_url", "JWT_SIGNING_KEY", "BAD-KEY")
	if !errors.Is(err, coffer.ErrNotFound) || !errors.Is(err, coffer.ErrInvalidKey) {
		t.Fatalf("Require: %v", err)
	}
	want := `secret not found: "database_url" in project "default", environment "default"; did you mean DATABASE_URL?; ` +
		`secret not found: "JWT_SIGNING_KEY" in project "default", environment "default"; ` +
		`invalid secret key: character '-' at position 3 is not allowed; use letters, digits and underscores`
	if err.Error() != want {
		t.Errorf("Require message\n got %s\nwant %s", err, want)
	}
}

func TestEnviron(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "B_TOKEN", "b=with=equals")
	mustCreate(t, e.m, "A_URL", "postgres://x")
	other, err := e.m.Environment("other")
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, other, "C", "not here")
	got, err := e.m.Environ(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A_URL=postgres://x", "B_TOKEN=b=with=equals"}, got); diff != "" {
		t.Errorf("Environ (-want +got):\n%s", diff)
	}
}

func TestDeleteIsPermanent(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "GONE", "v1")
	mustCreate(t, e.m, "KEPT", "v2")
	if err := e.m.Delete(ctx, "GONE"); err != nil {
		t.Fatal(err)
	}
	if _, ok := snapshot(t, e.coll)["default/default/GONE"]; ok {
		t.Error("record still stored after Delete")
	}
	if err := e.m.Delete(ctx, "GONE"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if _, err := e.m.Reveal(ctx, "GONE"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Reveal after Delete: %v", err)
	}
	// Re-creating the key starts over at version 1 with the new value.
	s := mustCreate(t, e.m, "GONE", "again")
	if v, err := e.m.Reveal(ctx, "GONE"); err != nil || v != "again" || s.Version != 1 {
		t.Errorf("recreate: %q %v version %d", string(v), err, s.Version)
	}
}

// TestChangesTakeEffectImmediately: a Manager never serves a stale value
// written by another Manager on the same collection.
func TestChangesTakeEffectImmediately(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	other, err := coffer.New(e.coll, e.keeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustCreate(t, e.m, "K", "v1")
	if v, _ := other.Reveal(ctx, "K"); v != "v1" {
		t.Fatalf("other sees %q", string(v))
	}
	for i := 2; i < 5; i++ {
		want := coffer.Value(fmt.Sprintf("v%d", i))
		if _, err := e.m.Update(ctx, "K", coffer.Change{Value: want}); err != nil {
			t.Fatal(err)
		}
		if v, err := other.Reveal(ctx, "K"); err != nil || v != want {
			t.Errorf("after update %d other sees %q, %v", i, string(v), err)
		}
	}
	if err := other.Delete(ctx, "K"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Reveal(ctx, "K"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("after delete by other: %v", err)
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "K", "v")
	child, err := e.m.Environment("prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := child.List(ctx); !errors.Is(err, coffer.ErrClosed) {
		t.Errorf("closed child: %v", err)
	}
	if _, err := e.m.Reveal(ctx, "K"); err != nil {
		t.Errorf("closing a child closed its parent: %v", err)
	}
	child2, _ := e.m.Environment("dev")
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	calls := map[string]error{}
	_, calls["Create"] = e.m.Create(ctx, coffer.NewSecret{Key: "N", Value: "v"})
	_, calls["Get"] = e.m.Get(ctx, "K")
	_, calls["Reveal"] = e.m.Reveal(ctx, "K")
	_, calls["List"] = e.m.List(ctx)
	_, calls["Update"] = e.m.Update(ctx, "K", coffer.Change{Value: "x"})
	calls["Delete"] = e.m.Delete(ctx, "K")
	calls["Require"] = e.m.Require(ctx, "K")
	_, calls["Environ"] = e.m.Environ(ctx)
	_, calls["child List"] = child2.List(ctx)
	for name, err := range calls {
		if !errors.Is(err, coffer.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	const key = "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	a, err := coffer.Open(ctx, "mem://open-test", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := coffer.Open(ctx, "mem://open-test", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, "SHARED", "v")
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Reveal(ctx, "SHARED"); err != nil || v != "v" {
		t.Errorf("second Manager on mem://open-test: %q, %v", string(v), err)
	}
	b.Close()

	secretKey := "smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4"
	tests := []struct{ coll, keeper string }{
		{"mem://", key},
		{"mem://x/other", key},
		{"mem://x?filename=/tmp/x", key},
		{"nosuch://x", key},
		{"mongo://db/coll?id_field=_id", key},
		{"%zz://" + secretKey, key},
		{"mem://open-bad-keeper", "base64key://" + secretKey[:20]},
		{"mem://open-bad-keeper", "nosuchkeeper://" + secretKey},
		// The driver rejects the query at Open, quoting the URL.
		{"mem://open-bad-keeper", "azurekeyvault://" + secretKey + "?bogus=" + secretKey},
	}
	for _, tt := range tests {
		_, err := coffer.Open(ctx, tt.coll, tt.keeper, nil)
		if err == nil {
			t.Errorf("Open(%q, %q) succeeded", tt.coll, tt.keeper)
			continue
		}
		for _, u := range []string{tt.coll, tt.keeper, secretKey[:10], secretKey[10:20]} {
			if strings.Contains(err.Error(), u) {
				t.Errorf("Open error shows a URL piece %q: %v", u, err)
			}
		}
	}
}

func TestAuditEvents(t *testing.T) {
	e := newEnv(t, &coffer.Options{Project: "shop", Environment: "prod"})
	ctx := coffer.WithActor(context.Background(), "alice@example.com")
	mustCreate(t, e.m, "K", "v")
	e.m.Reveal(ctx, "K")
	e.m.Update(ctx, "K", coffer.Change{})
	e.m.Delete(ctx, "K")
	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.audit.String()), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		delete(ev, "time")
		got = append(got, ev)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "coffer.create", "op": "create", "project": "shop", "environment": "prod", "key": "K", "actor": "", "outcome": "ok"},
		{"level": "INFO", "msg": "coffer.reveal", "op": "reveal", "project": "shop", "environment": "prod", "key": "K", "actor": "alice@example.com", "outcome": "ok"},
		{"level": "WARN", "msg": "coffer.update", "op": "update", "project": "shop", "environment": "prod", "key": "K", "actor": "alice@example.com", "outcome": "no_changes", "error": "no changes to save"},
		{"level": "INFO", "msg": "coffer.delete", "op": "delete", "project": "shop", "environment": "prod", "key": "K", "actor": "alice@example.com", "outcome": "ok"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit events (-want +got):\n%s", diff)
	}
}

// TestConcurrentUpdatesLoseNothing: goroutines updating the value and the
// description of one secret at once; every update lands and the last of each
// kind wins.
func TestConcurrentUpdatesLoseNothing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "COUNTER", "v0")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	var valueUpdates atomic.Int64
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				var c coffer.Change
				if w%2 == 0 {
					c.Value = coffer.Value(fmt.Sprintf("w%d-%d", w, i))
				} else {
					c.Description = ptr(fmt.Sprintf("w%d-%d", w, i))
				}
				if _, err := e.m.Update(ctx, "COUNTER", c); err != nil {
					errs <- err
					continue
				}
				if w%2 == 0 {
					valueUpdates.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update: %v", err)
	}
	s, err := e.m.Get(ctx, "COUNTER")
	if err != nil {
		t.Fatal(err)
	}
	// Every value change bumps Version exactly once: no lost update.
	if want := 1 + int(valueUpdates.Load()); s.Version != want {
		t.Errorf("Version = %d, want %d (1 + %d value updates)", s.Version, want, valueUpdates.Load())
	}
	if !strings.HasPrefix(s.Description, "w") {
		t.Errorf("description lost: %q", s.Description)
	}
}

// TestConcurrentUpdatesKeepBothFields: one goroutine changes only values,
// another only descriptions; the final record has the last of each.
func TestConcurrentUpdatesKeepBothFields(t *testing.T) {
	for round := range 20 {
		e := newEnv(t, nil)
		ctx := context.Background()
		mustCreate(t, e.m, "K", "v0")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 1; i <= 10; i++ {
				if _, err := e.m.Update(ctx, "K", coffer.Change{Value: coffer.Value(fmt.Sprint("v", i))}); err != nil {
					t.Error(err)
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 1; i <= 10; i++ {
				if _, err := e.m.Update(ctx, "K", coffer.Change{Description: ptr(fmt.Sprint("d", i))}); err != nil {
					t.Error(err)
				}
			}
		}()
		wg.Wait()
		s, err := e.m.Get(ctx, "K")
		v, err2 := e.m.Reveal(ctx, "K")
		if err != nil || err2 != nil || v != "v10" || s.Description != "d10" || s.Version != 11 {
			t.Fatalf("round %d: value %q, description %q, version %d (%v, %v); want v10, d10, 11", round, string(v), s.Description, s.Version, err, err2)
		}
	}
}

// TestRacingCreates: exactly one Create of a key wins; the rest get
// ErrAlreadyExists, and the stored value is the winner's.
func TestRacingCreates(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const racers = 32
	var wg sync.WaitGroup
	var wins, exists atomic.Int64
	var winner atomic.Value
	start := make(chan struct{})
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			v := coffer.Value(fmt.Sprint("racer-", i))
			_, err := e.m.Create(ctx, coffer.NewSecret{Key: "RACE", Value: v})
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
	if v, err := e.m.Reveal(ctx, "RACE"); err != nil || v != winner.Load().(coffer.Value) {
		t.Errorf("stored %q, winner %q (%v)", string(v), string(winner.Load().(coffer.Value)), err)
	}
}

// TestConcurrentManagersShareKeyring: Managers starting cold on one
// collection at once agree on a single keyring.
func TestConcurrentManagersShareKeyring(t *testing.T) {
	e := newEnv(t, nil)
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
			if _, err := m.Create(ctx, coffer.NewSecret{Key: fmt.Sprint("K", i), Value: "v"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for i := range 8 {
		if v, err := e.m.Reveal(ctx, fmt.Sprint("K", i)); err != nil || v != "v" {
			t.Errorf("K%d: %q, %v", i, string(v), err)
		}
	}
}

func TestCoffertest(t *testing.T) {
	m := coffertest.NewManager(t, &coffer.Options{Environment: "test"})
	mustCreate(t, m, "K", "v")
	if v, err := m.Reveal(context.Background(), "K"); err != nil || v != "v" {
		t.Errorf("Reveal: %q, %v", string(v), err)
	}
}

func TestContextCanceled(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.m, "K", "v")
	before := snapshot(t, e.coll)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "N", Value: "v"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Create: %v", err)
	}
	if _, err := e.m.Update(ctx, "K", coffer.Change{Value: "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update: %v", err)
	}
	if err := e.m.Delete(ctx, "K"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
	if _, err := e.m.List(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("List: %v", err)
	}
	unchanged(t, e.coll, before)
}
