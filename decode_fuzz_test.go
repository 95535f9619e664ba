package coffer_test

import (
	"bytes"
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

// Bits of FuzzStoredDocuments' shape argument: which stored fields get a
// type other than the one coffer writes, and what happens to the keyring.
const (
	shapeVersionString = 1 << iota
	shapeSealedString
	shapeTimeString
	shapeReplaceKeyring
	shapeKeysString
	shapeDeleteKeyring
	shapeDropSealed
)

// FuzzStoredDocuments: whatever a secret's stored document or the keyring
// document holds — arbitrary field values, fields of the wrong type, a
// missing keyring — Reveal, Get, List, Keys, All, Environ, Require, Update and Delete
// never panic; a value that opens is the one that was sealed; and every
// error is a clear one (ErrDecrypt, or a "coffer:" error naming the step)
// that shows no value.
func FuzzStoredDocuments(f *testing.F) {
	f.Add([]byte{}, int64(1), "desc", "generic", "API_KEY", uint8(0), int64(1), int64(1), []byte{})
	f.Add([]byte{1, 0, 0, 0, 1}, int64(-1), "", "", "", uint8(shapeVersionString), int64(0), int64(0), []byte("x"))
	f.Add(bytes.Repeat([]byte{1}, 40), int64(1<<40), "\xff", "Bad Type", "../other", uint8(shapeSealedString|shapeTimeString), int64(7), int64(7), bytes.Repeat([]byte{0}, 60))
	f.Add([]byte{1, 0, 0, 0, 2}, int64(2), "d", "t", "API_KEY", uint8(shapeReplaceKeyring), int64(2), int64(2), []byte("wrapped"))
	f.Add([]byte{}, int64(1), "", "", "API_KEY", uint8(shapeReplaceKeyring|shapeKeysString), int64(1), int64(1), []byte{})
	f.Add([]byte{}, int64(1), "", "", "API_KEY", uint8(shapeDeleteKeyring|shapeDropSealed), int64(1), int64(1), []byte{})
	f.Add([]byte{}, int64(1), "", "", "API_KEY", uint8(shapeReplaceKeyring), int64(1<<32), int64(-5), []byte{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, sealed []byte, version int64, desc, typ, key string, shape uint8, active, keyID int64, wrapped []byte) {
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
		mustCreate(t, writer, "OTHER", canary+"-other")
		orig := map[string]any{"ID": layout.ID("default", "default", "API_KEY")}
		if err := coll.Get(ctx, orig); err != nil {
			t.Fatal(err)
		}

		doc := map[string]any{
			"ID": layout.ID("default", "default", "API_KEY"), "Scope": layout.Scope("default", "default"),
			"Project": "default", "Environment": "default", "Key": key, "Description": desc, "Type": typ,
			"CreatedAt": fixedNow, "UpdatedAt": fixedNow, "RotatedAt": fixedNow, "CreatedBy": desc, "UpdatedBy": "",
			"Version": version, "Sealed": sealed,
		}
		if shape&shapeVersionString != 0 {
			doc["Version"] = desc
		}
		if shape&shapeSealedString != 0 {
			doc["Sealed"] = string(sealed)
		}
		if shape&shapeTimeString != 0 {
			doc["CreatedAt"] = typ
		}
		if shape&shapeDropSealed != 0 {
			delete(doc, "Sealed")
		}
		if err := coll.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
		if shape&shapeReplaceKeyring != 0 {
			kr := map[string]any{
				"ID": layout.KeyringID, "Scope": layout.KeyringScope, "Key": layout.KeyringKey, "Active": active,
				"Keys": []any{map[string]any{"ID": keyID, "Wrapped": wrapped, "CreatedAt": fixedNow}},
			}
			if shape&shapeKeysString != 0 {
				kr["Keys"] = string(wrapped)
			}
			if err := coll.Put(ctx, kr); err != nil {
				t.Fatal(err)
			}
		}
		if shape&shapeDeleteKeyring != 0 {
			if err := coll.Delete(ctx, layout.NewKeyringRecord()); err != nil {
				t.Fatal(err)
			}
		}
		// The value may open only when the stored envelope is the sealed one
		// and is read as bytes.
		genuine := shape&(shapeSealedString|shapeDropSealed) == 0 && bytes.Equal(sealed, orig["Sealed"].([]byte))

		// writer has the keyring in memory; reader loads it from the store.
		reader, err := coffer.New(coll, keeper, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close()
		for _, m := range []*coffer.Manager{writer, reader} {
			var errs []error
			v, err := m.Reveal(ctx, "API_KEY")
			if err == nil && (!genuine || string(v) != canary) {
				t.Fatalf("Reveal opened a forged envelope %x (shape %b)", sealed, shape)
			}
			errs = append(errs, err)
			_, err = m.Get(ctx, "API_KEY")
			errs = append(errs, err)
			_, err = m.List(ctx)
			errs = append(errs, err)
			_, err = m.Keys(ctx)
			errs = append(errs, err)
			for _, err := range m.All(ctx) {
				errs = append(errs, err)
			}
			_, err = m.Environ(ctx)
			errs = append(errs, err)
			errs = append(errs, m.Require(ctx, "API_KEY", "OTHER"))
			_, err = m.Update(ctx, "API_KEY", coffer.Change{Description: ptr("changed " + desc)})
			errs = append(errs, err)
			_, err = m.Update(ctx, "OTHER", coffer.Change{Value: canary + "-new"})
			errs = append(errs, err)
			for _, err := range errs {
				if err == nil || errors.Is(err, coffer.ErrNoChanges) || errors.Is(err, coffer.ErrNotFound) ||
					errors.Is(err, coffer.ErrInvalidDescription) || errors.Is(err, coffer.ErrDescriptionTooLong) {
					// The fuzzed description fed to Update breaks the rules.
					continue
				}
				msg := err.Error()
				// Clear: ErrDecrypt, or coffer's own words, directly or
				// after the secret's name ("secret X in ...: coffer: ...").
				if !errors.Is(err, coffer.ErrDecrypt) && !strings.HasPrefix(msg, "coffer: ") &&
					!(strings.HasPrefix(msg, "secret ") && strings.Contains(msg, ": coffer: ")) {
					t.Fatalf("unclear error %q (shape %b)", msg, shape)
				}
				if strings.Contains(msg, canary) {
					t.Fatalf("error shows the value: %q", msg)
				}
			}
		}
		if err := reader.Delete(ctx, "API_KEY"); err != nil && !errors.Is(err, coffer.ErrNotFound) && !strings.HasPrefix(err.Error(), "coffer: ") {
			t.Fatalf("Delete: unclear error %v", err)
		}
	})
}
