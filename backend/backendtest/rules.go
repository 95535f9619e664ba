package backendtest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/layout"
)

// caseManager returns a Manager for one table case: on e's collection, in
// an environment of its own, with the case's options. Cases share one
// collection so a backend whose collections are costly to make (a DynamoDB
// table) stays fast, and each "store unchanged" check covers every case's
// documents.
func caseManager(t *testing.T, e *env, i int, opts *coffer.Options) *coffer.Manager {
	t.Helper()
	var o coffer.Options
	if opts != nil {
		o = *opts
	}
	o.Environment = fmt.Sprintf("case%d", i)
	o.Now = func() time.Time { return FixedNow }
	return e.other(t, &o)
}

// testCreateRules covers every Create row of the rules table: accepted
// inputs are stored, rejected ones give every matching sentinel (and the
// page's exact words where it has them) and leave the store unchanged.
func testCreateRules(t *testing.T, h Harness) {
	long := func(n int, s string) string { return strings.Repeat(s, n) }
	tests := []struct {
		name     string
		opts     *coffer.Options
		in       coffer.NewSecret
		wantErrs []error  // nil: accepted
		wantMsg  string   // exact message, when the page documents it
		wantIn   []string // substrings the message must hold
		wantType coffer.Type
	}{
		{name: "key required", in: coffer.NewSecret{Value: "v"}, wantErrs: []error{coffer.ErrKeyRequired}, wantMsg: "secret key is required"},
		{name: "value required", in: coffer.NewSecret{Key: "K"}, wantErrs: []error{coffer.ErrValueRequired}, wantMsg: "secret value is required"},
		{name: "key and value required", in: coffer.NewSecret{}, wantErrs: []error{coffer.ErrKeyRequired, coffer.ErrValueRequired}, wantMsg: "secret key is required; secret value is required"},
		{name: "hyphen", in: coffer.NewSecret{Key: "API-KEY", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"character '-' at position 4"}},
		{name: "dot", in: coffer.NewSecret{Key: "a.b", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'.'"}},
		{name: "space", in: coffer.NewSecret{Key: "MY KEY", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"' '"}},
		{name: "slash", in: coffer.NewSecret{Key: "A/B", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'/'"}},
		{name: "NUL in key", in: coffer.NewSecret{Key: "A\x00B", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{`'\x00'`}},
		{name: "non-ASCII letter", in: coffer.NewSecret{Key: "CLÉ", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"character 'É' at position 3"}},
		{name: "invalid UTF-8", in: coffer.NewSecret{Key: "K\xff", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"byte 0xff at position 2"}},
		{name: "leading digit", in: coffer.NewSecret{Key: "1PASSWORD", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{`"1PASSWORD" starts with a digit ('1')`}},
		{name: "257 bytes", in: coffer.NewSecret{Key: long(257, "K"), Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"257 bytes"}},
		{name: "256 bytes", in: coffer.NewSecret{Key: long(256, "K"), Value: "v"}, wantType: coffer.TypeGeneric},
		{name: "leading underscore and digits", in: coffer.NewSecret{Key: "_K2_3", Value: "v"}, wantType: coffer.TypeGeneric},
		{name: "lower case allowed by default", in: coffer.NewSecret{Key: "stripe_api_key", Value: "v"}, wantType: coffer.TypeAPIKey},
		{name: "RequireUppercase", opts: &coffer.Options{RequireUppercase: true}, in: coffer.NewSecret{Key: "Stripe_KEY", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'t'", "STRIPE_KEY"}},
		{name: "RequireUppercase accepts upper case", opts: &coffer.Options{RequireUppercase: true}, in: coffer.NewSecret{Key: "STRIPE_KEY_2", Value: "v"}, wantType: coffer.TypeGeneric},
		{name: "value at 64 KiB", in: coffer.NewSecret{Key: "BIG", Value: coffer.Value(long(65536, "x"))}, wantType: coffer.TypeGeneric},
		{name: "value over 64 KiB", in: coffer.NewSecret{Key: "BIG", Value: coffer.Value(long(65537, "x"))}, wantErrs: []error{coffer.ErrValueTooLarge}, wantIn: []string{"65537", "65536"}},
		{name: "MaxValueBytes", opts: &coffer.Options{MaxValueBytes: 8}, in: coffer.NewSecret{Key: "K", Value: "123456789"}, wantErrs: []error{coffer.ErrValueTooLarge}, wantIn: []string{"9 bytes", "limit is 8"}},
		{name: "NUL in value", in: coffer.NewSecret{Key: "K", Value: "ab\x00c"}, wantErrs: []error{coffer.ErrInvalidValue}, wantIn: []string{"NUL byte at byte 3"}},
		{name: "description 1024 characters", in: coffer.NewSecret{Key: "K", Value: "v", Description: long(1024, "é")}, wantType: coffer.TypeGeneric},
		{name: "description 1025 characters", in: coffer.NewSecret{Key: "K", Value: "v", Description: long(1025, "d")}, wantErrs: []error{coffer.ErrDescriptionTooLong}, wantIn: []string{"1025"}},
		{name: "description not UTF-8", in: coffer.NewSecret{Key: "K", Value: "v", Description: "caf\xe9"}, wantErrs: []error{coffer.ErrInvalidDescription}},
		{name: "set type", in: coffer.NewSecret{Key: "K", Value: "v", Type: "webhook_secret"}, wantType: "webhook_secret"},
		{name: "set type overrides inference", in: coffer.NewSecret{Key: "GITHUB_TOKEN", Value: "v", Type: coffer.TypeCredential}, wantType: coffer.TypeCredential},
		{name: "type upper case", in: coffer.NewSecret{Key: "K", Value: "v", Type: "API_KEY"}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "type hyphen", in: coffer.NewSecret{Key: "K", Value: "v", Type: "api-key"}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "type leading digit", in: coffer.NewSecret{Key: "K", Value: "v", Type: "1type"}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "type too long", in: coffer.NewSecret{Key: "K", Value: "v", Type: coffer.Type(long(65, "t"))}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "key taken", in: coffer.NewSecret{Key: "EXISTING", Value: "other"}, wantErrs: []error{coffer.ErrAlreadyExists}, wantIn: []string{`"EXISTING"`}},
		{
			name:     "every problem at once",
			opts:     &coffer.Options{MaxValueBytes: 4},
			in:       coffer.NewSecret{Key: "bad key", Value: "too large", Description: long(1025, "d"), Type: "Bad"},
			wantErrs: []error{coffer.ErrInvalidKey, coffer.ErrValueTooLarge, coffer.ErrDescriptionTooLong, coffer.ErrInvalidType},
		},
	}
	e := newEnv(t, h, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := caseManager(t, e, i, tt.opts)
			ctx := context.Background()
			mustCreate(t, m, "EXISTING", "keep")
			before := Snapshot(t, e.coll)
			got, err := m.Create(ctx, tt.in)
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				want := coffer.Secret{
					Key: tt.in.Key, Description: tt.in.Description, Project: "default", Environment: fmt.Sprintf("case%d", i),
					Type: tt.wantType, CreatedAt: FixedNow, UpdatedAt: FixedNow, RotatedAt: FixedNow, Version: 1,
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Create (-want +got):\n%s", diff)
				}
				if g, err := m.Get(ctx, tt.in.Key); err != nil || cmp.Diff(want, g) != "" {
					t.Errorf("Get after Create: %v (-want +got):\n%s", err, cmp.Diff(want, g))
				}
				v, err := m.Reveal(ctx, tt.in.Key)
				if err != nil || v != tt.in.Value {
					t.Errorf("Reveal after Create: %d bytes, %v; want the %d bytes stored", len(v), err, len(tt.in.Value))
				}
				return
			}
			wantErrs(t, "Create", err, tt.wantErrs...)
			if err == nil {
				return
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not mention %s", err, s)
				}
			}
			if got != (coffer.Secret{}) {
				t.Errorf("rejected Create returned %+v", got)
			}
			Unchanged(t, e.coll, before)
			wantReveal(t, m, "EXISTING", "keep")
		})
	}
}

func testKeysAreCaseSensitive(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "API_KEY", "upper")
	mustCreate(t, e.m, "api_key", "lower")
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"API_KEY", "api_key"}, Keys(list)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	wantReveal(t, e.m, "API_KEY", "upper")
	wantReveal(t, e.m, "api_key", "lower")
}

// testUpdateRules covers the edit rows: empty value keeps the value, nothing
// new is ErrNoChanges, the key never changes, bad input changes nothing.
func testUpdateRules(t *testing.T, h Harness) {
	tests := []struct {
		name        string
		change      coffer.Change
		wantErrs    []error
		wantMsg     string
		wantValue   coffer.Value
		wantDesc    string
		wantVersion int
	}{
		{name: "nothing", change: coffer.Change{}, wantErrs: []error{coffer.ErrNoChanges}, wantMsg: "no changes to save"},
		{name: "same description", change: coffer.Change{Description: ptr("old")}, wantErrs: []error{coffer.ErrNoChanges}, wantMsg: "no changes to save"},
		{name: "description only keeps value", change: coffer.Change{Description: ptr("new")}, wantValue: "v1", wantDesc: "new", wantVersion: 1},
		{name: "clear description", change: coffer.Change{Description: ptr("")}, wantValue: "v1", wantDesc: "", wantVersion: 1},
		{name: "value only keeps description", change: coffer.Change{Value: "v2"}, wantValue: "v2", wantDesc: "old", wantVersion: 2},
		{name: "both", change: coffer.Change{Value: "v2", Description: ptr("new")}, wantValue: "v2", wantDesc: "new", wantVersion: 2},
		{name: "same value is a new version", change: coffer.Change{Value: "v1"}, wantValue: "v1", wantDesc: "old", wantVersion: 2},
		{name: "value too large", change: coffer.Change{Value: coffer.Value(strings.Repeat("x", 65537))}, wantErrs: []error{coffer.ErrValueTooLarge}},
		{name: "NUL value", change: coffer.Change{Value: "a\x00"}, wantErrs: []error{coffer.ErrInvalidValue}},
		{name: "description too long", change: coffer.Change{Description: ptr(strings.Repeat("d", 1025))}, wantErrs: []error{coffer.ErrDescriptionTooLong}},
		{
			name:     "two problems",
			change:   coffer.Change{Value: "a\x00", Description: ptr("\xff")},
			wantErrs: []error{coffer.ErrInvalidValue, coffer.ErrInvalidDescription},
		},
	}
	e := newEnv(t, h, nil)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := caseManager(t, e, i, nil)
			ctx := context.Background()
			if _, err := m.Create(ctx, coffer.NewSecret{Key: "K", Value: "v1", Description: "old"}); err != nil {
				t.Fatal(err)
			}
			before := Snapshot(t, e.coll)
			got, err := m.Update(ctx, "K", tt.change)
			if tt.wantErrs != nil {
				wantErrs(t, "Update", err, tt.wantErrs...)
				if tt.wantMsg != "" && (err == nil || err.Error() != tt.wantMsg) {
					t.Errorf("message %v, want %q", err, tt.wantMsg)
				}
				if got != (coffer.Secret{}) {
					t.Errorf("rejected Update returned %+v", got)
				}
				Unchanged(t, e.coll, before)
				return
			}
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := coffer.Secret{
				Key: "K", Description: tt.wantDesc, Project: "default", Environment: fmt.Sprintf("case%d", i), Type: coffer.TypeGeneric,
				CreatedAt: FixedNow, UpdatedAt: FixedNow, RotatedAt: FixedNow, Version: tt.wantVersion,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Update (-want +got):\n%s", diff)
			}
			if g, err := m.Get(ctx, "K"); err != nil || cmp.Diff(want, g) != "" {
				t.Errorf("Get after Update: %v (-want +got):\n%s", err, cmp.Diff(want, g))
			}
			wantReveal(t, m, "K", tt.wantValue)
		})
	}
}

func testUpdateTimesAndActor(t *testing.T, h Harness) {
	var mu sync.Mutex
	now := FixedNow
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	set := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = FixedNow.Add(d)
	}
	e := newEnv(t, h, &coffer.Options{Now: clock})
	ctx := coffer.WithActor(context.Background(), "alice")
	if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "GITHUB_TOKEN", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	set(time.Hour)
	if _, err := e.m.Update(coffer.WithActor(ctx, "bob"), "GITHUB_TOKEN", coffer.Change{Description: ptr("CI")}); err != nil {
		t.Fatal(err)
	}
	// A description change moves UpdatedAt, not RotatedAt.
	g, err := e.m.Get(ctx, "GITHUB_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	if !g.RotatedAt.Equal(FixedNow) || !g.UpdatedAt.Equal(FixedNow.Add(time.Hour)) || g.UpdatedBy != "bob" || g.Version != 1 {
		t.Errorf("after a description change: %+v", g)
	}
	// Sub-millisecond precision is dropped on every store.
	set(2*time.Hour + 123456789*time.Nanosecond)
	got, err := e.m.Update(coffer.WithActor(ctx, "carol"), "GITHUB_TOKEN", coffer.Change{Value: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	at := FixedNow.Add(2*time.Hour + 123*time.Millisecond)
	want := coffer.Secret{
		Key: "GITHUB_TOKEN", Description: "CI", Project: "default", Environment: "default", Type: coffer.TypeToken,
		CreatedAt: FixedNow, UpdatedAt: at, RotatedAt: at,
		CreatedBy: "alice", UpdatedBy: "carol", Version: 2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Update (-want +got):\n%s", diff)
	}
	g, err = e.m.Get(ctx, "GITHUB_TOKEN")
	if diff := cmp.Diff(want, g); err != nil || diff != "" {
		t.Errorf("Get after Update: %v (-want +got):\n%s", err, diff)
	}
	list, err := e.m.List(ctx)
	if diff := cmp.Diff([]coffer.Secret{want}, list); err != nil || diff != "" {
		t.Errorf("List after Update: %v (-want +got):\n%s", err, diff)
	}
}

// testBadKeyAndMissing: every keyed operation rejects a bad key and reports
// a missing one, changing nothing.
func testBadKeyAndMissing(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "DATABASE_URL", "v")
	before := Snapshot(t, e.coll)
	for _, tt := range []struct {
		key  string
		want error
	}{
		{"", coffer.ErrKeyRequired},
		{"BAD-KEY", coffer.ErrInvalidKey},
		{"MISSING", coffer.ErrNotFound},
	} {
		_, err := e.m.Update(ctx, tt.key, coffer.Change{Value: "new"})
		wantErrs(t, fmt.Sprintf("Update(%q)", tt.key), err, tt.want)
		wantErrs(t, fmt.Sprintf("Delete(%q)", tt.key), e.m.Delete(ctx, tt.key), tt.want)
		_, err = e.m.Reveal(ctx, tt.key)
		wantErrs(t, fmt.Sprintf("Reveal(%q)", tt.key), err, tt.want)
		_, err = e.m.Get(ctx, tt.key)
		wantErrs(t, fmt.Sprintf("Get(%q)", tt.key), err, tt.want)
	}
	Unchanged(t, e.coll, before)
}

// testStoredLayout: the stored document has exactly the pinned fields, with
// the pinned key values, on every store: other tools read this layout.
func testStoredLayout(t *testing.T, h Harness) {
	e := newEnv(t, h, &coffer.Options{Project: "shop", Environment: "prod"})
	ctx := coffer.WithActor(context.Background(), "alice")
	if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "postgres://x", Description: "main db"}); err != nil {
		t.Fatal(err)
	}
	docs := Snapshot(t, e.coll)
	if diff := cmp.Diff([]string{layout.KeyringID, "shop/prod/DATABASE_URL"}, keysOfMap(docs)); diff != "" {
		t.Fatalf("stored IDs (-want +got):\n%s", diff)
	}
	doc := docs["shop/prod/DATABASE_URL"]
	fields := []string{"CreatedAt", "CreatedBy", "Description", "DocstoreRevision", "Environment", "ID", "Key", "Project",
		"RotatedAt", "Scope", "Sealed", "Type", "UpdatedAt", "UpdatedBy", "Version"}
	if diff := cmp.Diff(fields, keysOfMap(doc)); diff != "" {
		t.Errorf("stored fields (-want +got):\n%s", diff)
	}
	strs := map[string]string{}
	for _, f := range []string{"ID", "Scope", "Project", "Environment", "Key", "Description", "Type", "CreatedBy", "UpdatedBy"} {
		strs[f] = fmt.Sprint(doc[f])
	}
	want := map[string]string{
		"ID": "shop/prod/DATABASE_URL", "Scope": "shop/prod", "Project": "shop", "Environment": "prod", "Key": "DATABASE_URL",
		"Description": "main db", "Type": "connection_string", "CreatedBy": "alice", "UpdatedBy": "alice",
	}
	if diff := cmp.Diff(want, strs); diff != "" {
		t.Errorf("stored values (-want +got):\n%s", diff)
	}
	if fmt.Sprint(doc["Version"]) != "1" {
		t.Errorf("stored Version %v (%T), want 1", doc["Version"], doc["Version"])
	}
	kr := docs[layout.KeyringID]
	if fmt.Sprint(kr["Scope"]) != layout.KeyringScope || fmt.Sprint(kr["Key"]) != layout.KeyringKey {
		t.Errorf("keyring document Scope %v, Key %v; want %q, %q", kr["Scope"], kr["Key"], layout.KeyringScope, layout.KeyringKey)
	}
	// The record reads back through layout.Record, as other tools read it.
	rec := layout.NewRecord("shop", "prod", "DATABASE_URL")
	if err := e.coll.Get(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if rec.Scope != layout.Scope("shop", "prod") || rec.Key != "DATABASE_URL" || len(rec.Sealed) == 0 || rec.DocstoreRevision == nil {
		t.Errorf("record %+v", rec)
	}
}
