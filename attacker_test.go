package coffer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/crypto"
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
	// Per environment: four secrets (KEY_4 deleted, with its history) and
	// the first values of KEY_0 and KEY_2, kept as versions; the keyring.
	docs := backendtest.Snapshot(t, e.coll)
	if want := 2*2*(4+2) + 1; len(docs) != want {
		t.Fatalf("store holds %d documents, want %d", len(docs), want)
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

// bindingParts is what an envelope is bound to, read from a raw record:
// its place, its record's creation time and the data-key id in its header.
func bindingParts(t *testing.T, doc map[string]any) map[string]any {
	t.Helper()
	env, err := crypto.Parse(doc["Sealed"].([]byte))
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{
		"project": doc["Project"], "environment": doc["Environment"], "key": doc["Key"],
		"creation time": doc["CreatedAt"], "data-key id": env.KeyID,
	}
}

// TestCopiedSealedValues: an envelope put where exactly one thing it is
// bound to differs — the key, the environment, the project, the record's
// creation time, or the data-key id — fails with ErrDecrypt. Each case
// changes that one part alone (the test checks so), so each binding is
// shown on its own. A whole record moved under another key fails too.
func TestCopiedSealedValues(t *testing.T) {
	ctx := context.Background()
	type place struct{ project, environment, key string }
	src := place{"default", "default", "API_KEY"}
	for _, c := range []struct {
		part   string
		target place
		// tamper edits the target record (already holding the source's
		// envelope) and may edit the keyring.
		tamper func(t *testing.T, e *env, doc map[string]any)
	}{
		{part: "key", target: place{"default", "default", "OTHER_KEY"}},
		{part: "environment", target: place{"default", "production", "API_KEY"}},
		{part: "project", target: place{"other", "default", "API_KEY"}},
		{part: "creation time", target: src, tamper: func(t *testing.T, e *env, doc map[string]any) {
			doc["CreatedAt"] = doc["CreatedAt"].(time.Time).Add(time.Millisecond)
		}},
		{part: "data-key id", target: src, tamper: func(t *testing.T, e *env, doc map[string]any) {
			// The store's writer copies the wrapped data key under a new id,
			// and relabels the envelope to name it: the key bytes are right.
			kr := raw(t, e.coll, layout.KeyringID)
			keys := kr["Keys"].([]any)
			dup := map[string]any{}
			for f, v := range keys[0].(map[string]any) {
				dup[f] = v
			}
			dup["ID"] = int64(2)
			kr["Keys"] = append(keys, dup)
			put(t, e.coll, kr)
			sealed := bytes.Clone(doc["Sealed"].([]byte))
			binary.BigEndian.PutUint32(sealed[1:5], 2)
			doc["Sealed"] = sealed
		}},
	} {
		t.Run(c.part, func(t *testing.T) {
			e := newEnv(t, nil) // a fixed clock: every record has the same creation time
			ids := map[place]string{}
			for i, p := range []place{src, c.target} {
				m := must(t)(must(t)(e.m.Project(p.project)).Environment(p.environment))
				ids[p] = layout.ID(p.project, p.environment, p.key)
				if i == 1 && p == src {
					break
				}
				mustCreate(t, m, p.key, fmt.Sprintf("%s-%d", canary, i))
			}
			source := raw(t, e.coll, ids[src])
			doc := raw(t, e.coll, ids[c.target])
			doc["Sealed"] = source["Sealed"]
			if c.tamper != nil {
				c.tamper(t, e, doc)
			}
			put(t, e.coll, doc)
			// Exactly the named part differs between where the envelope was
			// sealed and where it now is.
			was, is := bindingParts(t, source), bindingParts(t, doc)
			var differ []string
			for part := range was {
				if !cmp.Equal(was[part], is[part]) {
					differ = append(differ, part)
				}
			}
			if len(differ) != 1 || differ[0] != c.part {
				t.Fatalf("the case changes %v, want %s alone", differ, c.part)
			}
			m := must(t)(must(t)(cold(t, e, "").Project(c.target.project)).Environment(c.target.environment))
			if v, err := m.Reveal(ctx, c.target.key); !errors.Is(err, coffer.ErrDecrypt) {
				t.Errorf("Reveal of an envelope under another %s: %d bytes, %v; want ErrDecrypt", c.part, len(v), err)
			}
			if c.target != src {
				wantReveal(t, must(t)(cold(t, e, "").Project(src.project)), src.key, canary+"-0")
			}
		})
	}
	t.Run("whole record moved", func(t *testing.T) {
		e := newEnv(t, nil)
		prod := must(t)(e.m.Environment("production"))
		mustCreate(t, prod, "API_KEY", canary+"-prod")
		// The whole production record, moved under another key of its own
		// environment, ID and Key fields rewritten to match.
		moved := raw(t, e.coll, "default/production/API_KEY")
		moved["ID"], moved["Key"] = "default/production/MOVED_KEY", "MOVED_KEY"
		put(t, e.coll, moved)
		if v, err := prod.Reveal(ctx, "MOVED_KEY"); !errors.Is(err, coffer.ErrDecrypt) {
			t.Errorf("Reveal of a moved record: %d bytes, %v; want ErrDecrypt", len(v), err)
		}
		wantReveal(t, prod, "API_KEY", canary+"-prod")
	})
}

// must returns a function that unwraps the Manager of Environment or
// Project, failing t on an error.
func must(t *testing.T) func(*coffer.Manager, error) *coffer.Manager {
	return func(m *coffer.Manager, err error) *coffer.Manager {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
}

// wantReveal fails the test unless m reveals want for key.
func wantReveal(t *testing.T, m *coffer.Manager, key string, want coffer.Value) {
	t.Helper()
	v, err := m.Reveal(context.Background(), key)
	if err != nil || v != want {
		t.Errorf("Reveal(%s): %d bytes, %v; want the original value", key, len(v), err)
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
