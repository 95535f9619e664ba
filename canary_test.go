package coffer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
)

const canary = "CANARY-d4f1e9-value"

// renderings prints v every way a program might: fmt verbs, JSON, text
// marshalling and slog's text and JSON handlers.
func renderings(t *testing.T, v any) []string {
	t.Helper()
	var out []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10.3v", "%-20s", "%T"} {
		out = append(out, fmt.Sprintf(verb, v))
	}
	out = append(out, fmt.Sprint(v), fmt.Sprintln(v))
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
		for _, c := range []string{canary, "d4f1e9"} {
			if strings.Contains(s, c) {
				t.Errorf("%s shows the value: %s", what, s)
			}
		}
	}
}

// TestValueRedacted: every rendering of Value and of every public type that
// holds one shows "[REDACTED]" and never the value.
func TestValueRedacted(t *testing.T) {
	v := coffer.Value(canary)
	for _, x := range []any{
		v, &v,
		coffer.NewSecret{Key: "K", Value: v, Description: "d"},
		&coffer.NewSecret{Key: "K", Value: v},
		coffer.Change{Value: v, Description: ptr("d")},
		[]coffer.Value{v},
		map[string]coffer.Value{"K": v},
	} {
		r := renderings(t, x)
		noCanary(t, fmt.Sprintf("%T", x), r...)
		if !strings.Contains(strings.Join(r, "\n"), "[REDACTED]") {
			t.Errorf("%T renders without [REDACTED]", x)
		}
	}
	if got := string(v); got != canary {
		t.Errorf("string(v) = %q", got)
	}
}

// TestCanary runs every operation with a distinctive value, including calls
// that fail, and scans every error, result, audit line and stored document.
func TestCanary(t *testing.T) {
	e := newEnv(t, &coffer.Options{MaxValueBytes: 64})
	ctx := coffer.WithActor(context.Background(), "tester")
	m := e.m
	var texts []string
	record := func(what string, x any, err error) {
		if err != nil {
			texts = append(texts, err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err))
		}
		if x != nil {
			texts = append(texts, renderings(t, x)...)
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
	v, err := m.Reveal(ctx, "PAYMENT_TOKEN")
	record("Reveal", v, err)
	if string(v) != canary {
		t.Fatalf("Reveal returned %d bytes, not the canary", len(v))
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
	for id, doc := range snapshot(t, e.coll) {
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		noCanary(t, "stored document "+id, string(b), fmt.Sprintf("%v", doc))
		if sealed, ok := doc["Sealed"].([]byte); ok && bytes.Contains(sealed, []byte(canary)) {
			t.Errorf("document %s stores the value in clear", id)
		}
	}
	if err := m.Delete(ctx, "PAYMENT_TOKEN"); err != nil {
		t.Fatal(err)
	}
	noCanary(t, "audit log", e.audit.String())
	if !strings.Contains(e.audit.String(), `"op":"reveal"`) {
		t.Error("audit log is missing events")
	}
}
