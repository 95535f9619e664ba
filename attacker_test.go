package coffer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/internal/layout"
)

// These tests play an attacker who can read and write the database but holds
// neither the keeper nor the process's memory: "the store" of SECURITY.md.

// raw reads one stored document as the database holds it.
func raw(t *testing.T, coll *docstore.Collection, id string) map[string]any {
	t.Helper()
	doc := map[string]any{"ID": id}
	if err := coll.Get(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	delete(doc, "DocstoreRevision")
	return doc
}

// put writes doc as it is, bypassing coffer.
func put(t *testing.T, coll *docstore.Collection, doc map[string]any) {
	t.Helper()
	if err := coll.Put(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
}

// cold returns a Manager over e's store whose keyring is not loaded yet, as
// another process would see the store.
func cold(t *testing.T, e *env, environment string) *coffer.Manager {
	t.Helper()
	m, err := coffer.New(e.coll, e.keeper, &coffer.Options{Environment: environment})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// TestStoreHoldsNoPlaintext: after creates, updates, rotations and deletes in
// several projects and environments, no stored document — secret or
// keyring — holds any value, in any encoding the scan can think of.
func TestStoreHoldsNoPlaintext(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	values := map[string]bool{}
	for _, project := range []string{"default", "billing"} {
		pm, err := e.m.Project(project)
		if err != nil {
			t.Fatal(err)
		}
		for _, environment := range []string{"development", "production"} {
			m, err := pm.Environment(environment)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				key := fmt.Sprintf("KEY_%d", i)
				v := fmt.Sprintf("%s-%s-%s-%d", canary, project, environment, i)
				mustCreate(t, m, key, v)
				values[v] = true
				if i%2 == 0 {
					v2 := v + "-updated"
					if _, err := m.Update(ctx, key, coffer.Change{Value: coffer.Value(v2)}); err != nil {
						t.Fatal(err)
					}
					values[v2] = true
				}
				if i == 3 {
					if err := m.RotateDataKey(ctx); err != nil {
						t.Fatal(err)
					}
				}
				if i == 4 {
					if err := m.Delete(ctx, key); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	docs := backendtest.Snapshot(t, e.coll)
	if len(docs) != 2*2*4+1 {
		t.Fatalf("store holds %d documents, want %d", len(docs), 2*2*4+1)
	}
	needles := []string{canaryCore}
	for v := range values {
		needles = append(needles, v)
	}
	// Nor does it hold a data key unwrapped: the keeper (which this test,
	// unlike the store, holds) unwraps each stored key, and those bytes
	// must appear nowhere in the store.
	for _, k := range docs[layout.KeyringID]["Keys"].([]any) {
		key, err := e.keeper.Decrypt(ctx, k.(map[string]any)["Wrapped"].([]byte))
		if err != nil {
			t.Fatal(err)
		}
		needles = append(needles, string(key))
	}
	if len(needles) != 1+len(values)+1+2*2 {
		t.Fatalf("%d needles; want the canary, %d values and 5 data keys (the first and one rotation per environment)", len(needles), len(values))
	}
	backendtest.NoPlaintext(t, e.coll, needles...)
}

// TestSwappedSealedValues: swapping the envelopes of two secrets of one
// environment makes both fail with ErrDecrypt; neither shows the other's
// value.
func TestSwappedSealedValues(t *testing.T) {
	e := newEnv(t, nil)
	mustCreate(t, e.m, "API_KEY", canary+"-api")
	mustCreate(t, e.m, "DB_PASSWORD", canary+"-db")
	a, b := raw(t, e.coll, "default/default/API_KEY"), raw(t, e.coll, "default/default/DB_PASSWORD")
	a["Sealed"], b["Sealed"] = b["Sealed"], a["Sealed"]
	put(t, e.coll, a)
	put(t, e.coll, b)
	for _, m := range []*coffer.Manager{e.m, cold(t, e, "")} {
		for _, key := range []string{"API_KEY", "DB_PASSWORD"} {
			if v, err := m.Reveal(context.Background(), key); !errors.Is(err, coffer.ErrDecrypt) {
				t.Errorf("Reveal(%s) after the swap: %d bytes, %v; want ErrDecrypt", key, len(v), err)
			}
		}
		if env, err := m.Environ(context.Background()); !errors.Is(err, coffer.ErrDecrypt) {
			t.Errorf("Environ after the swap: %d entries, %v; want ErrDecrypt", len(env), err)
		}
	}
}

// TestCopiedSealedValues: an envelope copied onto the same key in another
// environment or another project, or a whole record moved under another key,
// fails with ErrDecrypt.
func TestCopiedSealedValues(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	prod, err := e.m.Environment("production")
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.m.Project("other")
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, prod, "API_KEY", canary+"-prod")
	mustCreate(t, e.m, "API_KEY", canary+"-default")
	mustCreate(t, other, "API_KEY", canary+"-other")
	mustCreate(t, e.m, "OTHER_KEY", canary+"-other-key")
	sealed := raw(t, e.coll, "default/production/API_KEY")["Sealed"]
	for _, id := range []string{"default/default/API_KEY", "other/default/API_KEY", "default/default/OTHER_KEY"} {
		doc := raw(t, e.coll, id)
		doc["Sealed"] = sealed
		put(t, e.coll, doc)
	}
	// The whole production record, moved under another key of its own
	// environment, ID and Key fields rewritten to match.
	moved := raw(t, e.coll, "default/production/API_KEY")
	moved["ID"], moved["Key"] = "default/production/MOVED_KEY", "MOVED_KEY"
	put(t, e.coll, moved)
	for _, c := range []struct {
		m   *coffer.Manager
		key string
	}{{e.m, "API_KEY"}, {other, "API_KEY"}, {e.m, "OTHER_KEY"}, {prod, "MOVED_KEY"}} {
		if v, err := c.m.Reveal(ctx, c.key); !errors.Is(err, coffer.ErrDecrypt) {
			t.Errorf("Reveal(%s) of a copied envelope: %d bytes, %v; want ErrDecrypt", c.key, len(v), err)
		}
	}
	if v, err := prod.Reveal(ctx, "API_KEY"); err != nil || string(v) != canary+"-prod" {
		t.Errorf("the original no longer opens: %v", err)
	}
}

// TestRollbackIsOutsideTheGuarantee pins down what SECURITY.md documents: the
// envelope binds a value to its place and data key, not to its version, so
// an attacker who kept an older envelope of the SAME secret (or a whole older
// copy of its record) can put it back, and Reveal then returns the older
// value. Detecting that needs state outside the store; coffer does not claim
// it. If this test starts failing because rollback is detected, update
// SECURITY.md.
func TestRollbackIsOutsideTheGuarantee(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "API_KEY", canary+"-v1")
	old := raw(t, e.coll, "default/default/API_KEY")
	if _, err := e.m.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-v2"}); err != nil {
		t.Fatal(err)
	}
	current := raw(t, e.coll, "default/default/API_KEY")
	current["Sealed"] = old["Sealed"] // only the envelope
	put(t, e.coll, current)
	if v, err := cold(t, e, "").Reveal(ctx, "API_KEY"); err != nil || string(v) != canary+"-v1" {
		t.Errorf("envelope rollback: Reveal gives %v; the documented limit says the older value opens", err)
	}
	put(t, e.coll, old) // the whole older record
	s, err := e.m.Get(ctx, "API_KEY")
	if err != nil || s.Version != 1 {
		t.Errorf("record rollback: Get gives version %d, %v; want the older record's version 1", s.Version, err)
	}
}

// TestEditedMetadata pins down the other documented limit: metadata
// (Description, Type, CreatedBy, UpdatedBy, times, Version) is stored in
// clear and not authenticated, so a database writer can change what Get and
// List show; the value itself stays bound to its place and opens unchanged.
func TestEditedMetadata(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "API_KEY", canary)
	doc := raw(t, e.coll, "default/default/API_KEY")
	doc["Description"], doc["Type"], doc["CreatedBy"], doc["Version"] = "edited", "password", "mallory", int64(9)
	put(t, e.coll, doc)
	s, err := cold(t, e, "").Get(ctx, "API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	if s.Description != "edited" || s.Type != "password" || s.CreatedBy != "mallory" || s.Version != 9 {
		t.Errorf("Get = %+v; the documented limit says edited metadata shows as edited", s)
	}
	if v, err := cold(t, e, "").Reveal(ctx, "API_KEY"); err != nil || string(v) != canary {
		t.Errorf("Reveal after a metadata edit: %v", err)
	}
}

// TestTamperedKeyring: a changed wrapped data key, an active id the keyring
// does not hold, a keyring from another collection, or a deleted keyring
// never make Reveal return a wrong value: it fails with ErrDecrypt or a
// clear keyring error.
func TestTamperedKeyring(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		tamper func(t *testing.T, e *env, kr map[string]any)
	}{
		{"flipped wrapped key", func(t *testing.T, e *env, kr map[string]any) {
			keys := kr["Keys"].([]any)
			k := keys[0].(map[string]any)
			w := bytes.Clone(k["Wrapped"].([]byte))
			w[len(w)/2] ^= 1
			k["Wrapped"] = w
			put(t, e.coll, kr)
		}},
		{"unknown active key", func(t *testing.T, e *env, kr map[string]any) {
			kr["Active"] = int64(7)
			put(t, e.coll, kr)
		}},
		{"keyring of another collection", func(t *testing.T, e *env, kr map[string]any) {
			o := newEnv(t, nil)
			m, err := coffer.New(o.coll, e.keeper, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			mustCreate(t, m, "X", "x")
			put(t, e.coll, raw(t, o.coll, layout.KeyringID))
		}},
		{"deleted keyring", func(t *testing.T, e *env, kr map[string]any) {
			if err := e.coll.Delete(ctx, layout.NewKeyringRecord()); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			mustCreate(t, e.m, "API_KEY", canary)
			c.tamper(t, e, raw(t, e.coll, layout.KeyringID))
			v, err := cold(t, e, "").Reveal(ctx, "API_KEY")
			if err == nil {
				t.Fatalf("Reveal opened a value (%d bytes) under a tampered keyring", len(v))
			}
			if !errors.Is(err, coffer.ErrDecrypt) && !bytes.Contains([]byte(err.Error()), []byte("keyring")) {
				t.Errorf("Reveal: %v; want ErrDecrypt or a keyring error", err)
			}
		})
	}
}

// TestDescriptionUpdateChecksTheValue: Update writes the record back whole,
// so a description-only change first checks the stored envelope opens. A
// damaged envelope gives ErrDecrypt and nothing is written; a new value
// replaces it.
func TestDescriptionUpdateChecksTheValue(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "API_KEY", canary)
	doc := raw(t, e.coll, "default/default/API_KEY")
	bad := bytes.Clone(doc["Sealed"].([]byte))
	bad[len(bad)-1] ^= 1
	doc["Sealed"] = bad
	put(t, e.coll, doc)
	before := backendtest.Snapshot(t, e.coll)
	if _, err := e.m.Update(ctx, "API_KEY", coffer.Change{Description: ptr("new")}); !errors.Is(err, coffer.ErrDecrypt) {
		t.Errorf("description update over a damaged envelope: %v, want ErrDecrypt", err)
	}
	backendtest.Unchanged(t, e.coll, before)
	if _, err := e.m.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-new", Description: ptr("new")}); err != nil {
		t.Fatalf("a new value over a damaged envelope: %v", err)
	}
	if v, err := e.m.Reveal(ctx, "API_KEY"); err != nil || string(v) != canary+"-new" {
		t.Errorf("Reveal after replacing the value: %v", err)
	}
}
