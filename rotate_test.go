package coffer_test

import (
	"context"
	"testing"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/crypto"
)

// keyIDOf returns the data-key id a stored secret is sealed under.
func keyIDOf(t *testing.T, e *env, id string) uint32 {
	t.Helper()
	rec := &backend.Record{ID: id}
	if err := e.coll.Get(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	env, err := crypto.Parse(rec.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	return env.KeyID
}

func TestRotateDataKey(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	other, err := coffer.New(e.coll, e.keeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.m, "OLD", "sealed under key 1")
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, e.m, "NEW", "sealed under key 2")
	if got := [2]uint32{keyIDOf(t, e, "default/default/OLD"), keyIDOf(t, e, "default/default/NEW")}; got != [2]uint32{1, 2} {
		t.Errorf("key ids %v, want [1 2]", got)
	}
	// other loaded the keyring before the rotation; meeting key 2 reloads it.
	for _, m := range []*coffer.Manager{e.m, other} {
		for key, want := range map[string]coffer.Value{"OLD": "sealed under key 1", "NEW": "sealed under key 2"} {
			if v, err := m.Reveal(ctx, key); err != nil || v != want {
				t.Errorf("Reveal(%s) = %q, %v", key, string(v), err)
			}
		}
	}
	// Rotations from two Managers at once both land.
	done := make(chan error, 2)
	for _, m := range []*coffer.Manager{e.m, other} {
		go func() { done <- m.RotateDataKey(ctx) }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	kr := backend.NewKeyringRecord()
	if err := e.coll.Get(ctx, kr); err != nil {
		t.Fatal(err)
	}
	if len(kr.Keys) != 4 || kr.Active != 4 {
		t.Errorf("keyring has %d keys, active %d; want 4 and 4", len(kr.Keys), kr.Active)
	}
	fresh, err := coffer.New(e.coll, e.keeper, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Update(ctx, "OLD", coffer.Change{Value: "now under key 4"}); err != nil {
		t.Fatal(err)
	}
	if id := keyIDOf(t, e, "default/default/OLD"); id != 4 {
		t.Errorf("updated value sealed under key %d, want 4", id)
	}
}
