package crypto

import (
	"context"
	"errors"
	"testing"

	"gocloud.dev/docstore/memdocstore"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/internal/faults"
)

// TestWrapChecked: a keeper whose Encrypt answers with bytes that do not
// unwrap to the new data key (or whose check Decrypt fails) makes keyring
// creation and rotation fail, and nothing is stored: no process is ever left
// with values sealed under a key only it holds.
func TestWrapChecked(t *testing.T) {
	ctx := context.Background()
	secret, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		call int // 1: Encrypt, 2: the check's Decrypt
		mode faults.Mode
		want func(error) bool
	}{
		{"garbage ciphertext", 1, faults.Garbage, func(err error) bool { return errors.Is(err, ErrDecrypt) }},
		{"garbage unwrap", 2, faults.Garbage, func(err error) bool { return errors.Is(err, ErrDecrypt) }},
		{"failed check", 2, faults.Fail, func(err error) bool { return errors.Is(err, faults.ErrInjected) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			coll, err := memdocstore.OpenCollection("ID", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer coll.Close()
			in := &faults.Injector{}
			k := NewKeyring(coll, faults.NewKeeper(localsecrets.NewKeeper(secret), in), nil)
			in.Arm(c.call, c.mode)
			if _, err := k.Seal(ctx, here, []byte("v")); !c.want(err) {
				t.Fatalf("Seal with a new keyring: %v", err)
			}
			if err := coll.Get(ctx, backend.NewKeyringRecord()); gcerrors.Code(err) != gcerrors.NotFound {
				t.Fatalf("a keyring was stored: Get says %v", err)
			}

			in.Disarm()
			if _, err := k.Seal(ctx, here, []byte("v")); err != nil {
				t.Fatal(err)
			}
			before := backend.NewKeyringRecord()
			if err := coll.Get(ctx, before); err != nil {
				t.Fatal(err)
			}
			in.Arm(c.call, c.mode)
			if _, err := k.Rotate(ctx); !c.want(err) {
				t.Fatalf("Rotate: %v", err)
			}
			after := backend.NewKeyringRecord()
			if err := coll.Get(ctx, after); err != nil {
				t.Fatal(err)
			}
			if len(after.Keys) != len(before.Keys) || after.Active != before.Active {
				t.Fatalf("a failed rotation changed the keyring: %d keys, active %d; before %d keys, active %d",
					len(after.Keys), after.Active, len(before.Keys), before.Active)
			}
		})
	}
}

// TestRotateRefusesCorruptedKeyring: rotation reads the keyring document and
// writes it back whole with a new key. When the read returns corrupted
// wrapped keys, Rotate fails and writes nothing, so the stored keys — and
// every value sealed under them — survive.
func TestRotateRefusesCorruptedKeyring(t *testing.T) {
	ctx := context.Background()
	secret, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	keeper := localsecrets.NewKeeper(secret)
	coll, err := memdocstore.OpenCollection("ID", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	sealed, err := NewKeyring(coll, keeper, nil).Seal(ctx, here, []byte("v"))
	if err != nil {
		t.Fatal(err)
	}
	drv, err := faults.DriverOf(coll)
	if err != nil {
		t.Fatal(err)
	}
	in := &faults.Injector{}
	k := NewKeyring(faults.NewCollection(drv, in), keeper, nil)
	if err := k.Load(ctx); err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		in.Arm(n, faults.Garbage)
		_, rerr := k.Rotate(ctx)
		fired := in.Fired()
		in.Disarm()
		if fired == "" {
			break
		}
		if rerr != nil && !errors.Is(rerr, ErrDecrypt) {
			t.Errorf("garbage at call %d (%s): %v, want ErrDecrypt", n, fired, rerr)
		}
		// Whatever happened, a fresh keyring over the store opens the value.
		if _, err := NewKeyring(coll, keeper, nil).Open(ctx, here, sealed); err != nil {
			t.Fatalf("garbage at call %d (%s), Rotate said %v, and the stored keyring lost a key: %v", n, fired, rerr, err)
		}
	}
}
