package coffer_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
)

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

func TestCoffertest(t *testing.T) {
	m := coffertest.NewManager(t, &coffer.Options{Environment: "test"})
	mustCreate(t, m, "K", "v")
	if v, err := m.Reveal(context.Background(), "K"); err != nil || v != "v" {
		t.Errorf("Reveal: %q, %v", string(v), err)
	}
}
