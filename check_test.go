package coffer_test

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/faults"
	"github.com/coffer-go/coffer/internal/layout"
)

const day = 24 * time.Hour

// world is one project with the environments production, staging and
// development on one collection, and a clock the test moves.
type world struct {
	*env
	now time.Time
	ms  map[string]*coffer.Manager
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{now: fixedNow}
	w.env = newEnv(t, &coffer.Options{Environment: "production", Now: func() time.Time { return w.now }})
	w.ms = map[string]*coffer.Manager{"production": w.m}
	for _, name := range []string{"staging", "development"} {
		m, err := w.m.Environment(name)
		if err != nil {
			t.Fatal(err)
		}
		w.ms[name] = m
	}
	return w
}

// put creates a secret in env, set at the world's clock minus ago.
func (w *world) put(t *testing.T, env string, ago time.Duration, s coffer.NewSecret) {
	t.Helper()
	defer func(now time.Time) { w.now = now }(w.now)
	w.now = w.now.Add(-ago)
	if _, err := w.ms[env].Create(context.Background(), s); err != nil {
		t.Fatalf("Create(%s in %s): %v", s.Key, env, err)
	}
}

// good creates key in every environment as the page asks: fresh, described,
// a strong value of its own per environment.
func (w *world) good(t *testing.T, key string) {
	t.Helper()
	for env := range w.ms {
		w.put(t, env, 0, coffer.NewSecret{Key: key, Value: generate(t), Description: "used by the billing service"})
	}
}

func generate(t *testing.T) coffer.Value {
	t.Helper()
	v, err := coffer.Generate(32)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var allEnvs = &coffer.CheckOptions{Environments: []string{"production", "staging", "development"}}

func (w *world) check(t *testing.T, opts *coffer.CheckOptions) []coffer.Finding {
	t.Helper()
	got, err := w.m.Check(context.Background(), opts)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return got
}

func diffFindings(t *testing.T, want, got []coffer.Finding) {
	t.Helper()
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// TestCheckCleanProjectHasNoFinding: secrets kept as the page asks give an
// empty report, over one environment and over all three, for every type.
func TestCheckCleanProjectHasNoFinding(t *testing.T) {
	w := newWorld(t)
	for _, key := range []string{"STRIPE_API_KEY", "GITHUB_TOKEN", "DB_PASSWORD", "AWS_SECRET_ACCESS_KEY", "SESSION_ENCRYPTION_KEY", "DATABASE_URL", "FEATURE_FLAGS", "_INTERNAL__NESTED_2"} {
		w.good(t, key)
	}
	// Set 90 days ago exactly: at the limit, not past it.
	for env := range w.ms {
		w.put(t, env, 90*day, coffer.NewSecret{Key: "AT_THE_LIMIT_TOKEN", Value: generate(t), Description: "d"})
	}
	diffFindings(t, []coffer.Finding{}, w.check(t, nil))
	diffFindings(t, []coffer.Finding{}, w.check(t, allEnvs))
}

func TestCheckNotRotated(t *testing.T) {
	w := newWorld(t)
	w.put(t, "production", 134*day, coffer.NewSecret{Key: "NEVER_ROTATED", Value: generate(t), Description: "d"})
	w.put(t, "production", 200*day, coffer.NewSecret{Key: "ROTATED_LONG_AGO", Value: generate(t), Description: "d"})
	w.now = w.now.Add(-134 * day)
	if _, err := w.m.Update(context.Background(), "ROTATED_LONG_AGO", coffer.Change{Value: generate(t)}); err != nil {
		t.Fatal(err)
	}
	w.now = fixedNow
	// A description change is no rotation.
	w.put(t, "production", 100*day, coffer.NewSecret{Key: "DESCRIBED_LATELY", Value: generate(t), Description: "d"})
	if _, err := w.m.Update(context.Background(), "DESCRIBED_LATELY", coffer.Change{Description: ptr("new")}); err != nil {
		t.Fatal(err)
	}
	w.put(t, "production", 91*day+time.Hour, coffer.NewSecret{Key: "JUST_OVER", Value: generate(t), Description: "d"})
	w.put(t, "production", 10*day, coffer.NewSecret{Key: "FRESH", Value: generate(t), Description: "d"})

	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingNotRotated, Environment: "production", Key: "DESCRIBED_LATELY", Message: "set 100 days ago and never rotated; the limit is 90 days: set a new value"},
		{Kind: coffer.FindingNotRotated, Environment: "production", Key: "JUST_OVER", Message: "set 91 days ago and never rotated; the limit is 90 days: set a new value"},
		{Kind: coffer.FindingNotRotated, Environment: "production", Key: "NEVER_ROTATED", Message: "set 134 days ago and never rotated; the limit is 90 days: set a new value"},
		{Kind: coffer.FindingNotRotated, Environment: "production", Key: "ROTATED_LONG_AGO", Message: "rotated 134 days ago; the limit is 90 days: set a new value"},
	}, w.check(t, nil))

	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingNotRotated, Environment: "production", Key: "NEVER_ROTATED", Message: "set 134 days ago and never rotated; the limit is 120 days: set a new value"},
		{Kind: coffer.FindingNotRotated, Environment: "production", Key: "ROTATED_LONG_AGO", Message: "rotated 134 days ago; the limit is 120 days: set a new value"},
	}, w.check(t, &coffer.CheckOptions{MaxAge: 120 * day}))

	got := w.check(t, &coffer.CheckOptions{MaxAge: 36 * time.Hour, Kinds: []coffer.FindingKind{coffer.FindingNotRotated}})
	if len(got) != 5 || got[1].Key != "FRESH" || got[1].Message != "set 240 hours ago and never rotated; the limit is 36 hours: set a new value" {
		t.Errorf("with a 36-hour limit: %+v; want all five, FRESH's age in hours", got)
	}
	got = w.check(t, &coffer.CheckOptions{MaxAge: 90 * time.Minute, Kinds: []coffer.FindingKind{coffer.FindingNotRotated}})
	if len(got) != 5 || got[1].Message != "set 240h0m0s ago and never rotated; the limit is 1h30m0s: set a new value" {
		t.Errorf("with a 90-minute limit: %+v; want FRESH's age as a duration", got)
	}
}

func TestCheckNoDescription(t *testing.T) {
	w := newWorld(t)
	w.put(t, "production", 0, coffer.NewSecret{Key: "EMPTY", Value: generate(t)})
	w.put(t, "production", 0, coffer.NewSecret{Key: "BLANK", Value: generate(t), Description: " \t "})
	w.put(t, "production", 0, coffer.NewSecret{Key: "DESCRIBED", Value: generate(t), Description: "x"})
	msg := "no description: say what it is for and who uses it"
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingNoDescription, Environment: "production", Key: "BLANK", Message: msg},
		{Kind: coffer.FindingNoDescription, Environment: "production", Key: "EMPTY", Message: msg},
	}, w.check(t, nil))
}

func TestCheckNaming(t *testing.T) {
	w := newWorld(t)
	for _, key := range []string{"database_url", "Stripe_Api_Key", "_", "GOOD_NAME", "__LEADING", "TRAILING_", "NESTED__KEY", "V2_TOKEN"} {
		w.put(t, "production", 0, coffer.NewSecret{Key: key, Value: generate(t), Description: "d"})
	}
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingNaming, Environment: "production", Key: "Stripe_Api_Key", Message: "not UPPERCASE_WITH_UNDERSCORES; keys cannot be renamed: create STRIPE_API_KEY with the same value, move its users to it, then delete Stripe_Api_Key"},
		{Kind: coffer.FindingNaming, Environment: "production", Key: "database_url", Message: "not UPPERCASE_WITH_UNDERSCORES; keys cannot be renamed: create DATABASE_URL with the same value, move its users to it, then delete database_url"},
	}, w.check(t, nil))
}

// TestCheckSimilarKey runs twice: with Check's hashes of the folded keys,
// and with every fold's hash the same, where only the folds themselves
// tell the groups apart.
func TestCheckSimilarKey(t *testing.T) {
	t.Run("hashed", testCheckSimilarKey)
	t.Run("every hash colliding", func(t *testing.T) {
		defer coffer.SetFoldHashCollide()()
		testCheckSimilarKey(t)
	})
}

func testCheckSimilarKey(t *testing.T) {
	w := newWorld(t)
	for _, key := range []string{"DATABASE_URL", "DATABASEURL", "database_url", "DATA_BASE", "REDIS_URL", "Redis_Url2", "REDIS_URL_2"} {
		w.put(t, "production", 0, coffer.NewSecret{Key: key, Value: generate(t), Description: "d"})
	}
	// The same fold in another environment is not similar: it is the
	// same key's business there (missing_in_environment covers it).
	w.put(t, "staging", 0, coffer.NewSecret{Key: "redis_url", Value: generate(t), Description: "d"})
	got := w.check(t, &coffer.CheckOptions{Environments: []string{"production", "staging"}, Kinds: []coffer.FindingKind{coffer.FindingSimilarKey}})
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingSimilarKey, Environment: "production", Key: "DATABASEURL", Message: "differs from DATABASE_URL, database_url only in case or underscores; a program asking for one does not get the other: keep one and delete the rest"},
		{Kind: coffer.FindingSimilarKey, Environment: "production", Key: "DATABASE_URL", Message: "differs from DATABASEURL, database_url only in case or underscores; a program asking for one does not get the other: keep one and delete the rest"},
		{Kind: coffer.FindingSimilarKey, Environment: "production", Key: "REDIS_URL_2", Message: "differs from Redis_Url2 only in case or underscores; a program asking for one does not get the other: keep one and delete the rest"},
		{Kind: coffer.FindingSimilarKey, Environment: "production", Key: "Redis_Url2", Message: "differs from REDIS_URL_2 only in case or underscores; a program asking for one does not get the other: keep one and delete the rest"},
		{Kind: coffer.FindingSimilarKey, Environment: "production", Key: "database_url", Message: "differs from DATABASEURL, DATABASE_URL only in case or underscores; a program asking for one does not get the other: keep one and delete the rest"},
	}, got)
}

func TestCheckMissingInEnvironment(t *testing.T) {
	w := newWorld(t)
	w.good(t, "EVERYWHERE")
	for _, env := range []string{"production", "staging"} {
		w.put(t, env, 0, coffer.NewSecret{Key: "NOT_IN_DEV", Value: generate(t), Description: "d"})
	}
	w.put(t, "development", 0, coffer.NewSecret{Key: "DEV_ONLY", Value: generate(t), Description: "d"})
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingMissing, Environment: "development", Key: "NOT_IN_DEV", Message: "not set here but set in production, staging: add it here, or delete it there if it is no longer used"},
		{Kind: coffer.FindingMissing, Environment: "production", Key: "DEV_ONLY", Message: "not set here but set in development: add it here, or delete it there if it is no longer used"},
		{Kind: coffer.FindingMissing, Environment: "staging", Key: "DEV_ONLY", Message: "not set here but set in development: add it here, or delete it there if it is no longer used"},
	}, w.check(t, allEnvs))
	// One environment has nothing to compare with.
	diffFindings(t, []coffer.Finding{}, w.check(t, nil))
	// Only the environments listed are read; the Manager's own is not added.
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingMissing, Environment: "development", Key: "NOT_IN_DEV", Message: "not set here but set in staging: add it here, or delete it there if it is no longer used"},
		{Kind: coffer.FindingMissing, Environment: "staging", Key: "DEV_ONLY", Message: "not set here but set in development: add it here, or delete it there if it is no longer used"},
	}, w.check(t, &coffer.CheckOptions{Environments: []string{"staging", "development", "staging"}}))
}

func TestCheckSharedValue(t *testing.T) {
	w := newWorld(t)
	shared, other := generate(t), generate(t)
	w.put(t, "production", 0, coffer.NewSecret{Key: "DB_PASSWORD", Value: shared, Description: "d"})
	w.put(t, "staging", 0, coffer.NewSecret{Key: "DB_PASSWORD", Value: other, Description: "d"})
	w.put(t, "development", 0, coffer.NewSecret{Key: "DB_PASSWORD", Value: shared, Description: "d"})
	// The same value under another key, in the same or another environment,
	// is not a shared value.
	w.put(t, "production", 0, coffer.NewSecret{Key: "OTHER_PASSWORD", Value: other, Description: "d"})
	w.put(t, "staging", 0, coffer.NewSecret{Key: "OTHER_PASSWORD", Value: shared, Description: "d"})
	w.put(t, "development", 0, coffer.NewSecret{Key: "OTHER_PASSWORD", Value: generate(t), Description: "d"})
	// Three alike: each names the two others.
	for env := range w.ms {
		w.put(t, env, 0, coffer.NewSecret{Key: "SENTRY_DSN", Value: "https://key@sentry.example/42", Description: "d"})
	}
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingSharedValue, Environment: "development", Key: "DB_PASSWORD", Message: "same value as in production: give each environment its own value"},
		{Kind: coffer.FindingSharedValue, Environment: "development", Key: "SENTRY_DSN", Message: "same value as in production, staging: give each environment its own value"},
		{Kind: coffer.FindingSharedValue, Environment: "production", Key: "DB_PASSWORD", Message: "same value as in development: give each environment its own value"},
		{Kind: coffer.FindingSharedValue, Environment: "production", Key: "SENTRY_DSN", Message: "same value as in development, staging: give each environment its own value"},
		{Kind: coffer.FindingSharedValue, Environment: "staging", Key: "SENTRY_DSN", Message: "same value as in development, production: give each environment its own value"},
	}, w.check(t, allEnvs))
	diffFindings(t, []coffer.Finding{}, w.check(t, nil))
}

func TestCheckWeakValue(t *testing.T) {
	const (
		short   = "shorter than 16 bytes: replace it with a generated value (32 random bytes)"
		common  = "a commonly used password: replace it with a generated value (32 random bytes)"
		variety = "plainly low variety (repeated, sequential or few distinct characters): replace it with a generated value (32 random bytes)"
	)
	weak := []struct{ value, msg string }{
		{"hunter2", short},
		{"fifteen-bytes!!", short},
		{"Password12345678", common},
		{"P@ssw0rd!!!!!!!!", common},
		{"iloveyouiloveyou", common},
		{"correcthorsebatterystaple", common},
		{"aaaaaaaaaaaaaaaaaaaa", variety},
		{"1234567890123456", variety},
		{"qwertyuiopasdfgh", variety},
		{"abcd1234abcd1234", variety},
		{"0000000000000001", variety},
		{"abababbbaabbabab", variety},
	}
	strong := []string{
		"sk_live_51HxYz8KpQ3mN7vR2tW",
		"correct-horse-battery-staple-93",
		"4f9c2a7e1b8d6053", // 16 random hex digits
	}
	types := []coffer.Type{coffer.TypePassword, coffer.TypeToken, coffer.TypeAPIKey, coffer.TypeEncryptionKey, coffer.TypeCredential}
	w := newWorld(t)
	var want []coffer.Finding
	for _, typ := range types {
		for i, c := range weak {
			key := fmt.Sprintf("%s_WEAK_%02d", strings.ToUpper(string(typ)), i)
			w.put(t, "production", 0, coffer.NewSecret{Key: key, Value: coffer.Value(c.value), Type: typ, Description: "d"})
			want = append(want, coffer.Finding{Kind: coffer.FindingWeakValue, Environment: "production", Key: key, Message: c.msg})
		}
		for i, v := range strong {
			w.put(t, "production", 0, coffer.NewSecret{Key: fmt.Sprintf("%s_STRONG_%02d", strings.ToUpper(string(typ)), i), Value: coffer.Value(v), Type: typ, Description: "d"})
		}
	}
	// Other types are not judged, nor is the type inferred over a set one.
	for _, typ := range []coffer.Type{coffer.TypeGeneric, coffer.TypeConnectionString, "feature_flag"} {
		for i, c := range weak {
			w.put(t, "production", 0, coffer.NewSecret{Key: fmt.Sprintf("X%s_%02d_PASSWORD", strings.ToUpper(string(typ)), i), Value: coffer.Value(c.value), Type: typ, Description: "d"})
		}
	}
	got := w.check(t, nil)
	// want is in creation order; Check sorts by key.
	diffFindings(t, sortFindings(want), got)
}

func sortFindings(fs []coffer.Finding) []coffer.Finding {
	out := slices.Clone(fs)
	slices.SortFunc(out, func(a, b coffer.Finding) int {
		return cmp.Or(strings.Compare(a.Environment, b.Environment), strings.Compare(a.Key, b.Key), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	return out
}

// TestCheckGeneratedValuesAreNeverWeak stores generated values under every
// checked type and finds nothing (the heuristic's own test draws 100,000).
func TestCheckGeneratedValuesAreNeverWeak(t *testing.T) {
	w := newWorld(t)
	types := []coffer.Type{coffer.TypePassword, coffer.TypeToken, coffer.TypeAPIKey, coffer.TypeEncryptionKey, coffer.TypeCredential}
	for i := range 500 {
		w.put(t, "production", 0, coffer.NewSecret{Key: fmt.Sprintf("GEN_%03d", i), Value: generate(t), Type: types[i%len(types)], Description: "d"})
	}
	diffFindings(t, []coffer.Finding{}, w.check(t, nil))
}

// TestCheckSortedAndCombined runs every kind at once over three
// environments: the findings come sorted by environment, key and kind.
func TestCheckSortedAndCombined(t *testing.T) {
	w := newWorld(t)
	w.good(t, "FINE")
	w.put(t, "production", 100*day, coffer.NewSecret{Key: "db_password", Value: "hunter2"})
	w.put(t, "production", 0, coffer.NewSecret{Key: "DB_PASSWORD", Value: "hunter2", Description: "d"})
	w.put(t, "staging", 0, coffer.NewSecret{Key: "DB_PASSWORD", Value: "hunter2", Description: "d"})
	var got []string
	for _, f := range w.check(t, allEnvs) {
		got = append(got, f.Environment+" "+f.Key+" "+string(f.Kind))
	}
	want := []string{
		"development DB_PASSWORD missing_in_environment",
		"development db_password missing_in_environment",
		"production DB_PASSWORD shared_value",
		"production DB_PASSWORD similar_key",
		"production DB_PASSWORD weak_value",
		"production db_password naming",
		"production db_password no_description",
		"production db_password not_rotated",
		"production db_password similar_key",
		"production db_password weak_value",
		"staging DB_PASSWORD shared_value",
		"staging DB_PASSWORD weak_value",
		"staging db_password missing_in_environment",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

func TestCheckKinds(t *testing.T) {
	w := newWorld(t)
	w.put(t, "production", 100*day, coffer.NewSecret{Key: "db_password", Value: "hunter2"})
	got := w.check(t, &coffer.CheckOptions{Kinds: []coffer.FindingKind{coffer.FindingNaming, coffer.FindingWeakValue}})
	var kinds []coffer.FindingKind
	for _, f := range got {
		kinds = append(kinds, f.Kind)
	}
	if diff := gocmp.Diff([]coffer.FindingKind{coffer.FindingNaming, coffer.FindingWeakValue}, kinds); diff != "" {
		t.Errorf("kinds (-want +got):\n%s", diff)
	}
}

// TestCheckBadOptions: every problem of the options is reported at once,
// each matching its sentinel.
func TestCheckBadOptions(t *testing.T) {
	w := newWorld(t)
	w.good(t, "FINE")
	for _, tc := range []struct {
		name     string
		opts     coffer.CheckOptions
		want     []error
		mentions []string
	}{
		{"negative MaxAge", coffer.CheckOptions{MaxAge: -time.Hour}, []error{coffer.ErrInvalidOptions}, []string{"MaxAge is -1h0m0s"}},
		{"bad environment", coffer.CheckOptions{Environments: []string{"production", "prod/eu"}}, []error{coffer.ErrInvalidName}, []string{`"prod/eu"`}},
		{"empty environment", coffer.CheckOptions{Environments: []string{""}}, []error{coffer.ErrInvalidName}, []string{"environment name is empty"}},
		{"unknown kind", coffer.CheckOptions{Kinds: []coffer.FindingKind{"rotation"}}, []error{coffer.ErrInvalidOptions}, []string{`unknown kind "rotation"`}},
		{"all at once", coffer.CheckOptions{MaxAge: -1, Environments: []string{"a b"}, Kinds: []coffer.FindingKind{""}},
			[]error{coffer.ErrInvalidOptions, coffer.ErrInvalidName}, []string{"MaxAge", `"a b"`, `unknown kind ""`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.m.Check(context.Background(), &tc.opts)
			if got != nil {
				t.Errorf("findings %v with an error", got)
			}
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("err = %v; want it to match %v", err, want)
				}
			}
			for _, m := range tc.mentions {
				if err == nil || !strings.Contains(err.Error(), m) {
					t.Errorf("err = %v; want it to mention %s", err, m)
				}
			}
		})
	}

	closed := newWorld(t)
	closed.m.Close()
	if _, err := closed.m.Check(context.Background(), nil); !errors.Is(err, coffer.ErrClosed) {
		t.Errorf("Check on a closed Manager: %v; want ErrClosed", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := w.m.Check(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a canceled context: %v; want context.Canceled", err)
	}
}

// TestCheckNeverShowsAValue puts canary values where every kind of finding
// looks (shared, weak in each way, strong), then scans every finding and
// every audit event for them.
func TestCheckNeverShowsAValue(t *testing.T) {
	w := newWorld(t)
	values := map[string]string{
		"SHARED_PASSWORD": canary,                     // shared by production and staging
		"SHORT_TOKEN":     "CANARY-short",             // weak: short
		"REPEAT_TOKEN":    "CANARYCANARYCANARYCANARY", // weak: low variety
		"canary_api_key":  canary + "-strong-7f3e9a",  // naming, not weak
	}
	for key, v := range values {
		w.put(t, "production", 200*day, coffer.NewSecret{Key: strings.ReplaceAll(key, "canary", "canari"), Value: coffer.Value(v)})
	}
	w.put(t, "staging", 0, coffer.NewSecret{Key: "SHARED_PASSWORD", Value: canary})
	got := w.check(t, &coffer.CheckOptions{Environments: []string{"production", "staging"}})
	kinds := map[coffer.FindingKind]int{}
	for _, f := range got {
		kinds[f.Kind]++
	}
	wantKinds := map[coffer.FindingKind]int{
		coffer.FindingNotRotated: 4, coffer.FindingNoDescription: 5, coffer.FindingNaming: 1,
		coffer.FindingMissing: 3, coffer.FindingSharedValue: 2, coffer.FindingWeakValue: 2,
	}
	if diff := gocmp.Diff(wantKinds, kinds); diff != "" {
		t.Errorf("findings per kind (-want +got):\n%s\nfindings: %+v", diff, got)
	}
	said := strings.ToLower(fmt.Sprintf("%+v %#v", got, got) + w.audit.String())
	if strings.Contains(said, "canary") {
		t.Errorf("a value shows in the findings or the audit log:\n%s", said)
	}

	// The audit event: op "check", where, the environments and the counts.
	var event map[string]any
	sc := bufio.NewScanner(strings.NewReader(w.audit.String()))
	for sc.Scan() {
		var e map[string]any
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		if e["op"] == "check" {
			event = e
		}
	}
	delete(event, "time")
	wantEvent := map[string]any{
		"level": "INFO", "msg": "coffer.check", "op": "check", "project": "default",
		"environment": "production", "actor": "", "outcome": "ok",
		"environments": "production,staging", "findings": float64(17),
		"counts": map[string]any{
			"not_rotated": float64(4), "no_description": float64(5), "naming": float64(1), "similar_key": float64(0),
			"missing_in_environment": float64(3), "shared_value": float64(2), "weak_value": float64(2),
		},
	}
	if diff := gocmp.Diff(wantEvent, event); diff != "" {
		t.Errorf("audit event (-want +got):\n%s", diff)
	}

	// A failed check is audited with its outcome and no counts.
	if _, err := w.m.Check(context.Background(), &coffer.CheckOptions{MaxAge: -1}); err == nil {
		t.Fatal("Check with a negative MaxAge succeeded")
	}
	lines := strings.Split(strings.TrimSpace(w.audit.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"op":"check"`) || !strings.Contains(last, `"outcome":"invalid_options"`) || strings.Contains(last, "counts") {
		t.Errorf("audit of a failed check: %s", last)
	}
}

// countingDriver counts the calls a collection gets: queries and actions,
// and calls onNext after every record a query returns.
type countingDriver struct {
	driver.Collection
	queries, actions atomic.Int64
	onNext           func()
}

func (c *countingDriver) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	c.actions.Add(int64(len(actions)))
	return c.Collection.RunActions(ctx, actions, opts)
}

func (c *countingDriver) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	c.queries.Add(1)
	it, err := c.Collection.RunGetQuery(ctx, q)
	if err != nil || c.onNext == nil {
		return it, err
	}
	return &hookedIterator{DocumentIterator: it, after: c.onNext}, nil
}

// Close leaves the wrapped driver open: it belongs to the collection it
// was taken from.
func (c *countingDriver) Close() error { return nil }

type hookedIterator struct {
	driver.DocumentIterator
	after func()
}

func (it *hookedIterator) Next(ctx context.Context, doc driver.Document) error {
	err := it.DocumentIterator.Next(ctx, doc)
	if err == nil {
		it.after()
	}
	return err
}

// counted returns a collection over coll's driver that counts its calls.
func counted(t *testing.T, coll *docstore.Collection) (*docstore.Collection, *countingDriver) {
	t.Helper()
	d, err := faults.DriverOf(coll)
	if err != nil {
		t.Fatal(err)
	}
	cd := &countingDriver{Collection: d}
	wrapped := docstore.NewCollection(cd)
	t.Cleanup(func() { _ = wrapped.Close() })
	return wrapped, cd
}

// TestCheckCost: one listing per environment and, once the keyring is
// loaded, no keeper call and no other store call.
func TestCheckCost(t *testing.T) {
	w := newWorld(t)
	for i := range 20 {
		w.good(t, fmt.Sprintf("KEY_%02d_PASSWORD", i))
	}
	coll, cd := counted(t, w.coll)
	keeper := cryptotest.NewCountingKeeper(w.keeper)
	m, err := coffer.New(coll, keeper.Keeper(), &coffer.Options{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if _, err := m.Reveal(ctx, "KEY_00_PASSWORD"); err != nil { // warm: loads the keyring
		t.Fatal(err)
	}
	cd.queries.Store(0)
	cd.actions.Store(0)
	keeper.Reset()
	if _, err := m.Check(ctx, allEnvs); err != nil {
		t.Fatal(err)
	}
	got := [3]int64{cd.queries.Load(), cd.actions.Load(), int64(calls(keeper))}
	if got != [3]int64{3, 0, 0} {
		t.Errorf("Check over 3 environments: %d queries, %d other store calls, %d keeper calls; want 3, 0, 0", got[0], got[1], got[2])
	}
}

// TestCheckOpensOnlyWhatItNeeds: the metadata kinds read no Sealed field
// and call no keeper, even on a cold Manager; weak_value opens only the
// checked types; shared_value, over two environments, opens every value.
func TestCheckOpensOnlyWhatItNeeds(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.good(t, "GOOD_TOKEN")
	w.good(t, "PLAIN_SETTING")
	// A record whose Sealed cannot even decode into []byte.
	garbage := map[string]any{
		"ID": layout.ID("default", "production", "GARBAGE_TOKEN"), "Scope": layout.Scope("default", "production"),
		"Project": "default", "Environment": "production", "Key": "GARBAGE_TOKEN", "Type": "token",
		"Description": "d", "CreatedAt": fixedNow, "RotatedAt": fixedNow, "Version": 1, "Sealed": int64(42),
	}
	if err := w.coll.Create(ctx, garbage); err != nil {
		t.Fatal(err)
	}
	coll, cd := counted(t, w.coll)
	keeper := cryptotest.NewCountingKeeper(w.keeper)
	cold, err := coffer.New(coll, keeper.Keeper(), &coffer.Options{Environment: "production", Now: func() time.Time { return fixedNow }})
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	metadata := []coffer.FindingKind{coffer.FindingNotRotated, coffer.FindingNoDescription, coffer.FindingNaming, coffer.FindingSimilarKey, coffer.FindingMissing}
	got, err := cold.Check(ctx, &coffer.CheckOptions{Environments: allEnvs.Environments, Kinds: metadata})
	if err != nil {
		t.Fatalf("metadata check over a garbage Sealed field: %v", err)
	}
	diffFindings(t, []coffer.Finding{
		{Kind: coffer.FindingMissing, Environment: "development", Key: "GARBAGE_TOKEN", Message: "not set here but set in production: add it here, or delete it there if it is no longer used"},
		{Kind: coffer.FindingMissing, Environment: "staging", Key: "GARBAGE_TOKEN", Message: "not set here but set in production: add it here, or delete it there if it is no longer used"},
	}, got)
	if n := calls(keeper); n != 0 || cd.actions.Load() != 0 {
		t.Errorf("metadata check: %d keeper calls, %d store actions; want none (not even the keyring read)", n, cd.actions.Load())
	}
	if _, err := cold.Check(ctx, nil); err == nil {
		t.Error("weak_value over a garbage token succeeded; the test record is not garbage")
	}

	// Corrupt PLAIN_SETTING's envelope (a generic secret) in production.
	rec := &layout.Record{ID: layout.ID("default", "production", "PLAIN_SETTING")}
	if err := w.coll.Get(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Sealed[len(rec.Sealed)-1] ^= 1
	if err := w.coll.Replace(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := w.coll.Delete(ctx, &layout.Record{ID: layout.ID("default", "production", "GARBAGE_TOKEN")}); err != nil {
		t.Fatal(err)
	}
	// One environment, every kind: the generic secret is not opened.
	if got, err := w.m.Check(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("one environment with a corrupt generic secret: %v, %v; want no finding, no error (it is not opened)", got, err)
	}
	// Two environments: shared_value opens it, and says which one failed.
	_, err = w.m.Check(ctx, &coffer.CheckOptions{Environments: []string{"production", "staging"}})
	if !errors.Is(err, coffer.ErrDecrypt) || !strings.Contains(err.Error(), `"PLAIN_SETTING"`) {
		t.Errorf("two environments with a corrupt secret: %v; want ErrDecrypt naming PLAIN_SETTING", err)
	}
	if _, err := w.m.Check(ctx, &coffer.CheckOptions{Environments: []string{"production", "staging"}, Kinds: []coffer.FindingKind{coffer.FindingWeakValue}}); err != nil {
		t.Errorf("two environments, weak_value only: %v; want the generic secret left closed", err)
	}
}

// TestCheckMemoryIsBoundedByKeysNotValues: the live heap during a check
// over two environments of large values grows by a small fraction of the
// values' size: values are opened one at a time and dropped.
func TestCheckMemoryIsBoundedByKeysNotValues(t *testing.T) {
	if testing.Short() {
		t.Skip("stores 32 MB of values")
	}
	const (
		n         = 1000
		valueSize = 16 << 10
	)
	w := newWorld(t)
	ctx := context.Background()
	for _, env := range []string{"production", "staging"} {
		for i := range n {
			v := strings.Repeat(fmt.Sprintf("%08d", i), valueSize/8) // distinct per key, the same in both: all shared
			if _, err := w.ms[env].Create(ctx, coffer.NewSecret{Key: fmt.Sprintf("BIG_%04d_TOKEN", i), Value: coffer.Value(v), Description: "d"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	coll, cd := counted(t, w.coll)
	var records int
	var peak uint64
	cd.onNext = func() {
		records++
		if records%100 == 0 {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	m, err := coffer.New(coll, w.keeper, &coffer.Options{Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	got, err := m.Check(ctx, &coffer.CheckOptions{Environments: []string{"production", "staging"}, Kinds: []coffer.FindingKind{coffer.FindingSharedValue}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2*n {
		t.Fatalf("%d findings; want %d shared values", len(got), 2*n)
	}
	grew := int64(peak) - int64(before.HeapAlloc)
	values := int64(2 * n * valueSize)
	t.Logf("live heap grew by %d KB during a check over %d KB of values", grew>>10, values>>10)
	if grew > values/8 {
		t.Errorf("live heap grew by %d bytes during the check; the values are %d bytes: want under an eighth", grew, values)
	}
}
