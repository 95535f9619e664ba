package crypto

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"gocloud.dev/docstore/memdocstore"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer/internal/faults"
	"github.com/coffer-go/coffer/internal/layout"
)

// TestWrapChecked: whichever keeper call of keyring creation or rotation
// fails or answers with corrupted bytes (a ciphertext that does not unwrap, a
// data key unwrapped to other bytes), either the call fails and the stored
// keyring is as before, or it succeeds and a fresh keyring over the store
// opens what this one sealed: no process is ever left sealing under a key
// only it holds.
func TestWrapChecked(t *testing.T) {
	ctx := context.Background()
	secret, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	keeper := localsecrets.NewKeeper(secret)
	for _, mode := range []faults.Mode{faults.Fail, faults.Garbage} {
		for _, rotate := range []bool{false, true} {
			for n := 1; ; n++ {
				coll, err := memdocstore.OpenCollection("ID", nil)
				if err != nil {
					t.Fatal(err)
				}
				in := &faults.Injector{}
				k := NewKeyring(coll, faults.NewKeeper(keeper, in), nil)
				before := 0
				if rotate {
					if _, err := k.Seal(ctx, here, []byte("v")); err != nil {
						t.Fatal(err)
					}
					before = 1
				}
				in.Arm(n, mode)
				var opErr error
				if rotate {
					_, opErr = k.Rotate(ctx)
				} else {
					_, opErr = k.Seal(ctx, here, []byte("v"))
				}
				fired := in.Fired()
				in.Disarm()
				where := fmt.Sprintf("%v at keeper call %d (%s), rotate %v", mode, n, fired, rotate)
				stored := layout.NewKeyringRecord()
				getErr := coll.Get(ctx, stored)
				switch {
				case opErr != nil && !rotate:
					if gcerrors.Code(getErr) != gcerrors.NotFound {
						t.Errorf("%s: failed (%v) but stored a keyring (%v)", where, opErr, getErr)
					}
				case opErr != nil:
					if getErr != nil || len(stored.Keys) != before {
						t.Errorf("%s: failed (%v) but the keyring changed: %d keys, %v", where, opErr, len(stored.Keys), getErr)
					}
				default:
					sealed, err := k.Seal(ctx, here, []byte("v"))
					if err != nil {
						t.Fatalf("%s: %v", where, err)
					}
					if _, err := NewKeyring(coll, keeper, nil).Open(ctx, here, sealed); err != nil {
						t.Errorf("%s: succeeded, but another process cannot open what it seals: %v", where, err)
					}
				}
				coll.Close()
				if fired == "" {
					break
				}
			}
		}
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
