package coffer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/internal/layout"
)

// Bits of FuzzStoredVersions' shape argument.
const (
	vshapeCurrentSlot   = 1 << iota // the document takes the current version's place, not version 1's
	vshapeVersionString             // Version is a string
	vshapeSealedString              // Sealed is a string
	vshapeTimeString                // CreatedAt is a string
	vshapeDropSealed                // no Sealed field
	vshapeOtherCreated              // CreatedAt is another secret's
	vshapeExtraField                // a field coffer does not write
)

// FuzzStoredVersions: whatever a version document holds — arbitrary values,
// fields of the wrong type or missing, another secret's creation time, in
// the place of a kept version or of the current one — Versions,
// RevealVersion, Rollback, Update, Delete and Reseal never panic; a version
// that reveals gives the value that version really had; and every error is
// clear (ErrDecrypt, ErrNotFound, or a "coffer:"/"secret" error naming the
// step) and shows no value.
func FuzzStoredVersions(f *testing.F) {
	f.Add([]byte{}, int64(1), "API_KEY", "0000000001", "bob", uint8(0), 1)
	f.Add([]byte{1, 0, 0, 0, 1}, int64(2), "API_KEY", "0000000002", "", uint8(vshapeCurrentSlot), 2)
	f.Add([]byte("x"), int64(-1), "OTHER", "1", "\xff", uint8(vshapeVersionString|vshapeTimeString), 0)
	f.Add(make([]byte, 60), int64(1<<40), "", "", "", uint8(vshapeSealedString|vshapeOtherCreated), 3)
	f.Add([]byte{}, int64(1), "API_KEY", "0000000001", "", uint8(vshapeDropSealed|vshapeExtraField), 1)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sealed []byte, version int64, secretKey, key, setBy string, shape uint8, reveal int) {
		coll, err := backend.OpenMemCollection()
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		secret, err := localsecrets.NewRandomKey()
		if err != nil {
			t.Fatal(err)
		}
		keeper := localsecrets.NewKeeper(secret)
		defer keeper.Close()
		opts := &coffer.Options{Now: func() time.Time { return fixedNow }}
		writer, err := coffer.New(coll, keeper, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer writer.Close()
		mustCreate(t, writer, "API_KEY", canary)
		if _, err := writer.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-2"}); err != nil {
			t.Fatal(err)
		}
		// What each version really holds, as the operations below succeed.
		values := map[int]string{1: canary, 2: canary + "-2"}
		current := 2

		slot := 1
		if shape&vshapeCurrentSlot != 0 {
			slot = 2
		}
		ref := layout.NewVersionRecord("default", "default", "API_KEY", slot)
		doc := map[string]any{
			"ID": ref.ID, "Scope": ref.Scope, "Key": key, "Project": "default", "Environment": "default",
			"SecretKey": secretKey, "CreatedAt": fixedNow, "Version": version, "SetAt": fixedNow, "SetBy": setBy,
			"Sealed": sealed,
		}
		if shape&vshapeVersionString != 0 {
			doc["Version"] = setBy
		}
		if shape&vshapeSealedString != 0 {
			doc["Sealed"] = string(sealed)
		}
		if shape&vshapeTimeString != 0 {
			doc["CreatedAt"] = key
		}
		if shape&vshapeDropSealed != 0 {
			delete(doc, "Sealed")
		}
		if shape&vshapeOtherCreated != 0 {
			doc["CreatedAt"] = fixedNow.Add(-time.Hour)
		}
		if shape&vshapeExtraField != 0 {
			doc["Extra"] = setBy
		}
		if err := coll.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}

		check := func(what string, err error) {
			t.Helper()
			if err == nil || errors.Is(err, coffer.ErrNotFound) || errors.Is(err, coffer.ErrNoChanges) {
				return
			}
			msg := err.Error()
			if !errors.Is(err, coffer.ErrDecrypt) && !strings.HasPrefix(msg, "coffer: ") && !strings.HasPrefix(msg, "secret ") {
				t.Fatalf("%s: unclear error %q (shape %b)", what, msg, shape)
			}
			if strings.Contains(msg, "d4f1e9") {
				t.Fatalf("%s: error shows a value: %q", what, msg)
			}
		}
		revealed := func(m *coffer.Manager, n int) {
			t.Helper()
			v, err := m.RevealVersion(ctx, "API_KEY", n)
			check("RevealVersion", err)
			if err == nil && string(v) != values[n] {
				t.Fatalf("RevealVersion(%d) opened %d bytes that version %d never held (shape %b)", n, len(v), n, shape)
			}
		}

		reader, err := coffer.New(coll, keeper, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		for _, m := range []*coffer.Manager{writer, reader} {
			vs, err := m.Versions(ctx, "API_KEY")
			check("Versions", err)
			for _, v := range vs {
				if v.Version < 1 || v.Version > current {
					t.Fatalf("Versions lists version %d of a secret at version %d", v.Version, current)
				}
			}
			for _, n := range []int{1, 2, reveal} {
				revealed(m, n)
			}
		}
		if _, err := writer.Update(ctx, "API_KEY", coffer.Change{Value: canary + "-3"}); err == nil {
			current++
			values[current] = canary + "-3"
		} else {
			check("Update", err)
		}
		if s, err := reader.Rollback(ctx, "API_KEY", 1); err == nil {
			current = s.Version
			values[current] = canary
		} else {
			check("Rollback", err)
		}
		for n := 1; n <= current; n++ {
			revealed(reader, n)
		}
		if v, err := reader.Reveal(ctx, "API_KEY"); err != nil || string(v) != values[current] {
			t.Fatalf("Reveal after the fuzzed version: %v", err)
		}
		if _, err := writer.Reseal(ctx, nil); err != nil {
			check("Reseal", err)
		}
		check("Delete", reader.Delete(ctx, "API_KEY"))
	})
}
