package backendtest

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
	"gocloud.dev/secrets"
)

// callEvery calls each operation of m once (on key K) and returns each
// call's error by name. keeper is given to ChangeKeeper.
func callEvery(ctx context.Context, m *coffer.Manager, keeper *secrets.Keeper) map[string]error {
	calls := map[string]error{}
	_, calls["Create"] = m.Create(ctx, coffer.NewSecret{Key: "N", Value: "v"})
	_, calls["Get"] = m.Get(ctx, "K")
	_, calls["Reveal"] = m.Reveal(ctx, "K")
	_, _, calls["RevealSecret"] = m.RevealSecret(ctx, "K")
	_, calls["List"] = m.List(ctx)
	_, calls["Keys"] = m.Keys(ctx)
	calls["All"] = errors.New("the All iterator yielded nothing")
	for _, err := range m.All(ctx) {
		calls["All"] = err
		break
	}
	_, calls["Update"] = m.Update(ctx, "K", coffer.Change{Value: "x"})
	_, calls["Update/IfVersion"] = m.Update(ctx, "K", coffer.Change{Value: "x", IfVersion: 1})
	_, calls["Versions"] = m.Versions(ctx, "K")
	_, calls["RevealVersion"] = m.RevealVersion(ctx, "K", 1)
	_, calls["Rollback"] = m.Rollback(ctx, "K", 1)
	calls["Delete"] = m.Delete(ctx, "K")
	calls["Require"] = m.Require(ctx, "K")
	_, calls["Environ"] = m.Environ(ctx)
	_, calls["Check"] = m.Check(ctx, &coffer.CheckOptions{Environments: []string{"default", "other"}})
	calls["RotateDataKey"] = m.RotateDataKey(ctx)
	_, calls["Reseal"] = m.Reseal(ctx, nil)
	calls["ChangeKeeper"] = m.ChangeKeeper(ctx, keeper)
	return calls
}

func testContextCanceled(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	mustCreate(t, e.m, "K", "v")
	before := Snapshot(t, e.coll)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := callEvery(ctx, e.m, e.keeper)
	for name, err := range calls {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: %v, want context.Canceled", name, err)
		}
	}
	Unchanged(t, e.coll, before)
	wantReveal(t, e.m, "K", "v")
}

func testClose(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "K", "v")
	child := must(t)(e.m.Environment("prod"))
	if err := child.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := child.List(ctx); !errors.Is(err, coffer.ErrClosed) {
		t.Errorf("closed child: %v", err)
	}
	wantReveal(t, e.m, "K", "v") // closing a child leaves its parent open
	child2 := must(t)(e.m.Environment("dev"))
	before := Snapshot(t, e.coll)
	if err := e.m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	calls := callEvery(ctx, e.m, e.keeper)
	_, calls["child List"] = child2.List(ctx)
	for name, err := range calls {
		if !errors.Is(err, coffer.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	// New does not own the collection: it is still open and unchanged.
	Unchanged(t, e.coll, before)
}

// testClosedCollection: a Manager whose collection was closed under it
// answers ErrClosed, not a store error or "not found".
func testClosedCollection(t *testing.T, h Harness) {
	e := newEnv(t, h, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "K", "v")
	cold := e.other(t, nil)
	if err := e.coll.Close(); err != nil {
		t.Fatal(err)
	}
	calls := callEvery(ctx, e.m, e.keeper)
	// cold has never read the keyring: each of its calls needs the store.
	for name, err := range callEvery(ctx, cold, e.keeper) {
		calls["cold "+name] = err
	}
	for name, err := range calls {
		if !errors.Is(err, coffer.ErrClosed) || errors.Is(err, coffer.ErrNotFound) {
			t.Errorf("%s on a closed collection: %v, want ErrClosed", name, err)
		}
	}
}

const canary = "CANARY-d4f1e9-value"

// canaryCore is the canary's distinctive middle.
const canaryCore = "d4f1e9"

// renderings prints v every way a program might: fmt verbs, JSON, text
// marshalling and slog's text and JSON handlers.
func renderings(v any) []string {
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3v", "%-20s", "%T"} {
		out = append(out, fmt.Sprintf(verb, v))
	}
	out = append(out, fmt.Sprint(v), fmt.Sprintln(v))
	// The methods themselves, as other libraries call them (fmt prefers
	// Format, so a String that shows the value would go unseen above).
	if s, ok := v.(fmt.Stringer); ok {
		out = append(out, s.String())
	}
	if s, ok := v.(fmt.GoStringer); ok {
		out = append(out, s.GoString())
	}
	if m, ok := v.(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			out = append(out, string(b))
		}
	}
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "v", v)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "v", v)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", slog.Any("v", v), slog.Group("g", "v", v))
	out = append(out, buf.String())
	return out
}

func noCanary(t *testing.T, what string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		for _, c := range []string{canary, canaryCore} {
			if strings.Contains(s, c) {
				t.Errorf("%s shows the value: %s", what, s)
			}
		}
	}
}

// testCanary runs every operation with a distinctive value, including calls
// that fail, and scans every error, result, audit line and stored document.
// Every rendering of Value, and of the public types that hold one, shows
// "[REDACTED]".
func testCanary(t *testing.T, h Harness) {
	v := coffer.Value(canary)
	for _, x := range []any{
		v, &v,
		coffer.NewSecret{Key: "K", Value: v, Description: "d"},
		&coffer.NewSecret{Key: "K", Value: v},
		coffer.Change{Value: v, Description: ptr("d")},
		[]coffer.Value{v},
		map[string]coffer.Value{"K": v},
	} {
		r := renderings(x)
		noCanary(t, fmt.Sprintf("%T", x), r...)
		if !strings.Contains(strings.Join(r, "\n"), "[REDACTED]") {
			t.Errorf("%T renders without [REDACTED]", x)
		}
	}
	if got := string(v); got != canary {
		t.Errorf("string(v) = %q", got)
	}

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
	s, err := m.Create(ctx, coffer.NewSecret{Key: "PAYMENT_TOKEN", Value: canary, Description: "a test"})
	record("Create", s, err)
	_, err = m.Create(ctx, coffer.NewSecret{Key: "PAYMENT_TOKEN", Value: canary})
	record("duplicate Create", nil, err)
	_, err = m.Create(ctx, coffer.NewSecret{Key: "BIG", Value: coffer.Value(strings.Repeat(canary, 10))})
	record("too-large Create", nil, err)
	_, err = m.Create(ctx, coffer.NewSecret{Key: "NUL", Value: canary + "\x00"})
	record("NUL Create", nil, err)
	_, err = m.Create(ctx, coffer.NewSecret{Key: "bad key", Value: canary, Type: "Bad"})
	record("bad Create", nil, err)
	g, err := m.Get(ctx, "PAYMENT_TOKEN")
	record("Get", g, err)
	l, err := m.List(ctx)
	record("List", l, err)
	got, err := m.Reveal(ctx, "PAYMENT_TOKEN")
	record("Reveal", got, err)
	if string(got) != canary {
		t.Fatalf("Reveal returned %d bytes, not the canary", len(got))
	}
	u, err := m.Update(ctx, "PAYMENT_TOKEN", coffer.Change{Value: canary + "-2"})
	record("Update", u, err)
	_, err = m.Update(ctx, "PAYMENT_TOKEN", coffer.Change{Value: coffer.Value(strings.Repeat(canary, 10))})
	record("too-large Update", nil, err)
	_, err = m.Update(ctx, "MISSING", coffer.Change{Value: canary})
	record("Update of a missing key", nil, err)
	record("Require", nil, m.Require(ctx, "PAYMENT_TOKEN", "MISSING"))

	// Raw store: every document, every field, as bytes.
	mustCreate(t, m, "OTHER", canary)
	NoPlaintext(t, e.coll, canary, canaryCore)
	if err := m.Delete(ctx, "PAYMENT_TOKEN"); err != nil {
		t.Fatal(err)
	}
	noCanary(t, "audit log", e.audit.String())
	if !strings.Contains(e.audit.String(), `"op":"reveal"`) {
		t.Error("audit log is missing events")
	}
}
