package backendtest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/layout"
)

// testListSortedMetadataOnly: List returns the scope's secrets in byte
// order of their keys, each with the metadata Get returns.
func testListSortedMetadataOnly(t *testing.T, h Harness) {
	e := newEnv(t, h, &coffer.Options{Project: "shop", Environment: "staging"})
	ctx := context.Background()
	for _, k := range []string{"ZED", "ALPHA", "MIDDLE", "_UNDER", "beta", "A", "A_B", "AB", "A1", "a"} {
		mustCreate(t, e.m, k, "v-"+k)
	}
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A", "A1", "AB", "ALPHA", "A_B", "MIDDLE", "ZED", "_UNDER", "a", "beta"}
	if diff := cmp.Diff(want, Keys(list)); diff != "" {
		t.Errorf("List order (-want +got):\n%s", diff)
	}
	for _, s := range list {
		g, err := e.m.Get(ctx, s.Key)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(g, s); diff != "" {
			t.Errorf("List item differs from Get (-get +list):\n%s", diff)
		}
		if s.Project != "shop" || s.Environment != "staging" || s.Version != 1 {
			t.Errorf("List item %+v", s)
		}
	}
	empty := newEnv(t, h, nil)
	got, err := empty.m.List(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("List of nothing = %#v, %v; want an empty, non-nil slice", got, err)
	}
}

// testKeys: Keys returns the scope's keys, in byte order, exactly the keys
// List returns; nothing of a neighbouring scope; an empty, non-nil slice for
// an empty scope; and one audit event "keys".
func testKeys(t *testing.T, h Harness) {
	e := newEnv(t, h, &coffer.Options{Project: "shop", Environment: "staging"})
	ctx := context.Background()
	for _, k := range []string{"ZED", "ALPHA", "_UNDER", "beta", "A", "A_B", "AB", "A1", "a"} {
		mustCreate(t, e.m, k, "v-"+k)
	}
	// Scopes sharing a prefix with "shop/staging": a store matching Scope
	// by prefix would leak their keys.
	for _, other := range []*coffer.Manager{must(t)(e.m.Environment("stagingx")), must(t)(e.m.Project("shop-x"))} {
		mustCreate(t, other, "NOT_LISTED", "v")
	}
	got, err := e.m.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A", "A1", "AB", "ALPHA", "A_B", "ZED", "_UNDER", "a", "beta"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Keys(list), got); diff != "" {
		t.Errorf("Keys differs from List's keys (-list +keys):\n%s", diff)
	}
	if !strings.Contains(e.audit.String(), `"op":"keys"`) {
		t.Errorf("no audit event for Keys in %s", e.audit.String())
	}
	empty, err := must(t)(e.m.Environment("empty")).Keys(ctx)
	if err != nil || empty == nil || len(empty) != 0 {
		t.Errorf("Keys of nothing = %#v, %v; want an empty, non-nil slice", empty, err)
	}
}

// ListSize is how many secrets testList10000 lists.
const ListSize = 10000

// testList10000: a listing larger than any store's page (DynamoDB returns at
// most 1 MB per Query) comes back whole and in order.
func testList10000(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	neighbour := must(t)(e.m.Environment("default2"))
	mustCreate(t, neighbour, "NOT_LISTED", "v")
	const workers = 16
	keys := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				if _, err := e.m.Create(ctx, coffer.NewSecret{Key: k, Value: coffer.Value("v-" + k)}); err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		}()
	}
	// Created in a shuffled order, so a store that lists in insertion order
	// would fail.
	want := make([]string, ListSize)
	for i := range want {
		want[i] = seq("KEY_", i)
	}
	for i := range ListSize {
		keys <- want[(i*7919)%ListSize]
	}
	close(keys)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d Creates failed; the first: %v", len(failures), failures[0])
	}
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, Keys(list)); diff != "" {
		t.Errorf("List of %d (-want +got):\n%s", ListSize, diff)
	}
	for _, s := range list {
		if s.Version != 1 || s.Environment != "default" || s.Type != coffer.TypeGeneric || !s.CreatedAt.Equal(FixedNow) {
			t.Errorf("List item %+v", s)
			break
		}
	}
	names, err := e.m.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Keys of %d (-want +got):\n%s", ListSize, diff)
	}
	if err := e.m.Require(ctx, want...); err != nil {
		t.Errorf("Require of every listed key: %v", err)
	}
	wantReveal(t, e.m, want[ListSize-1], coffer.Value("v-"+want[ListSize-1]))
}

func testProjectsAndEnvironmentsAreIsolated(t *testing.T, h Harness) {
	e := newEnv(t, h, &coffer.Options{Project: "shop"})
	ctx := context.Background()
	dev := must(t)(e.m.Environment("development"))
	prod := must(t)(e.m.Environment("production"))
	blogProd := must(t)(prod.Project("blog"))
	// "shop-x" and "productionx" make Scopes that share a prefix with
	// "shop/production": a store that matched Scope by prefix would leak.
	shopxProd := must(t)(prod.Project("shop-x"))
	prodx := must(t)(e.m.Environment("productionx"))
	values := map[*coffer.Manager]coffer.Value{dev: "dev-db", prod: "prod-db", blogProd: "blog-db", shopxProd: "shopx-db", prodx: "prodx-db"}
	for m, v := range values {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	for m, want := range values {
		wantReveal(t, m, "DATABASE_URL", want)
		list, err := m.List(ctx)
		if err != nil || len(list) != 1 {
			t.Errorf("List = %v, %v; want one secret", Keys(list), err)
		}
		env, err := m.Environ(ctx)
		if diff := cmp.Diff([]string{"DATABASE_URL=" + string(want)}, env); err != nil || diff != "" {
			t.Errorf("Environ: %v (-want +got):\n%s", err, diff)
		}
	}
	if _, err := e.m.Reveal(ctx, "DATABASE_URL"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("default environment sees another environment's secret: %v", err)
	}
	if err := prod.Delete(ctx, "DATABASE_URL"); err != nil {
		t.Fatal(err)
	}
	wantReveal(t, dev, "DATABASE_URL", "dev-db")
	wantReveal(t, blogProd, "DATABASE_URL", "blog-db")
	s, err := blogProd.Get(ctx, "DATABASE_URL")
	if err != nil || s.Project != "blog" || s.Environment != "production" {
		t.Errorf("Get = %+v, %v", s, err)
	}
	ids := keysOfMap(Snapshot(t, e.coll))
	want := []string{layout.KeyringID, "blog/production/DATABASE_URL", "shop-x/production/DATABASE_URL",
		"shop/development/DATABASE_URL", "shop/productionx/DATABASE_URL"}
	sort.Strings(want)
	if diff := cmp.Diff(want, ids); diff != "" {
		t.Errorf("stored IDs (-want +got):\n%s", diff)
	}
}

func testDidYouMean(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "STRIPE_API_KEY", "v")
	other := must(t)(e.m.Environment("other"))
	mustCreate(t, other, "SENTRY_DSN", "v")
	tests := []struct{ key, hint string }{
		{"stripe_api_key", "did you mean STRIPE_API_KEY?"},
		{"STRIPEAPIKEY", "did you mean STRIPE_API_KEY?"},
		{"Stripe_Api__Key", "did you mean STRIPE_API_KEY?"},
		{"STRIPE_KEY", ""},
		{"sentry_dsn", ""}, // close to a key of another environment only
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
		_, gerr := e.m.Get(ctx, tt.key)
		if gerr == nil || gerr.Error() != err.Error() {
			t.Errorf("Get(%s) = %v; want the same error as Reveal: %v", tt.key, gerr, err)
		}
	}
}

func testRequire(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
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
		`invalid secret key: character '-' at position 4 is not allowed; use letters, digits and underscores`
	if err.Error() != want {
		t.Errorf("Require message\n got %s\nwant %s", err, want)
	}
}

func testEnviron(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "B_TOKEN", "b=with=equals")
	mustCreate(t, e.m, "A_URL", "postgres://x")
	other := must(t)(e.m.Environment("other"))
	mustCreate(t, other, "C", "not here")
	got, err := e.m.Environ(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"A_URL=postgres://x", "B_TOKEN=b=with=equals"}, got); diff != "" {
		t.Errorf("Environ (-want +got):\n%s", diff)
	}
	empty := must(t)(e.m.Environment("empty"))
	got, err = empty.Environ(ctx)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Environ of nothing = %#v, %v; want an empty, non-nil slice", got, err)
	}
}

func testDeleteIsPermanent(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "GONE", "v1")
	mustCreate(t, e.m, "KEPT", "v2")
	if err := e.m.Delete(ctx, "GONE"); err != nil {
		t.Fatal(err)
	}
	if _, ok := Snapshot(t, e.coll)["default/default/GONE"]; ok {
		t.Error("record still stored after Delete")
	}
	if err := e.m.Delete(ctx, "GONE"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if _, err := e.m.Reveal(ctx, "GONE"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Reveal after Delete: %v", err)
	}
	wantReveal(t, e.m, "KEPT", "v2")
	// Re-creating the key starts over at version 1 with the new value.
	s := mustCreate(t, e.m, "GONE", "again")
	wantReveal(t, e.m, "GONE", "again")
	if s.Version != 1 {
		t.Errorf("recreated at version %d, want 1", s.Version)
	}
}

// testChangesTakeEffectImmediately: a Manager never serves a stale value
// written by another Manager on the same collection.
func testChangesTakeEffectImmediately(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	other := e.other(t, nil)
	mustCreate(t, e.m, "K", "v1")
	wantReveal(t, other, "K", "v1")
	for i := 2; i < 5; i++ {
		want := coffer.Value(fmt.Sprintf("v%d", i))
		if _, err := e.m.Update(ctx, "K", coffer.Change{Value: want}); err != nil {
			t.Fatal(err)
		}
		wantReveal(t, other, "K", want)
		if s, err := other.Get(ctx, "K"); err != nil || s.Version != i {
			t.Errorf("other's Get after update %d: version %d, %v", i, s.Version, err)
		}
	}
	if err := other.Delete(ctx, "K"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Reveal(ctx, "K"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("after delete by other: %v", err)
	}
}

// testListSeesEveryChange: a Manager's List reflects every change another
// Manager (another process) makes between two calls — a new description, a
// new value, a new key, a deleted key, a key deleted and created again —
// though List keeps its last answer to reuse while nothing changed. The
// writer runs on the same fixed clock, so no change shows in a time. Each
// answer is compared with a fresh Manager's, which has no answer to reuse.
func testListSeesEveryChange(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	fixed := &coffer.Options{Now: func() time.Time { return FixedNow }}
	writer := e.other(t, fixed)
	mustCreate(t, e.m, "A", "a1")
	mustCreate(t, e.m, "C", "c1")
	check := func(step string, wantKeys ...string) []coffer.Secret {
		t.Helper()
		got, err := e.m.List(ctx)
		if err != nil {
			t.Fatalf("%s: List: %v", step, err)
		}
		want, err := e.other(t, fixed).List(ctx)
		if err != nil {
			t.Fatalf("%s: a fresh Manager's List: %v", step, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: List (-fresh +got):\n%s", step, diff)
		}
		if diff := cmp.Diff(wantKeys, Keys(got), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: keys (-want +got):\n%s", step, diff)
		}
		return got
	}
	first := check("first", "A", "C")
	if diff := cmp.Diff(first, check("unchanged", "A", "C")); diff != "" {
		t.Errorf("a List with nothing changed differs (-first +second):\n%s", diff)
	}

	if _, err := writer.Update(ctx, "A", coffer.Change{Description: ptr("new description")}); err != nil {
		t.Fatal(err)
	}
	if got := check("description", "A", "C"); len(got) == 2 && got[0].Description != "new description" {
		t.Errorf("description: List shows %q", got[0].Description)
	}
	if _, err := writer.Update(ctx, "C", coffer.Change{Value: "c2"}); err != nil {
		t.Fatal(err)
	}
	if got := check("value", "A", "C"); len(got) == 2 && got[1].Version != 2 {
		t.Errorf("value: List shows version %d, want 2", got[1].Version)
	}
	mustCreate(t, writer, "B", "b1")
	check("created", "A", "B", "C")
	if err := writer.Delete(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	check("deleted", "B", "C")
	if err := writer.Delete(ctx, "B"); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Create(coffer.WithActor(ctx, "someone-else"), coffer.NewSecret{Key: "B", Value: "b2"}); err != nil {
		t.Fatal(err)
	}
	if got := check("deleted and created again", "B", "C"); len(got) == 2 && got[0].CreatedBy != "someone-else" {
		t.Errorf("deleted and created again: List shows CreatedBy %q", got[0].CreatedBy)
	}

	// An answer is the caller's own: changing it changes no later answer.
	got := check("before the caller's change", "B", "C")
	got[0].Description = "changed by the caller"
	check("after the caller's change", "B", "C")

	for _, k := range []string{"B", "C"} {
		if err := writer.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if got := check("empty"); got == nil {
		t.Error("empty: List returned nil, want an empty slice")
	}
}
