package crypto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/docstore/memdocstore"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	secretsdriver "gocloud.dev/secrets/driver"
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

// corruptOlderKeys flips a byte of every wrapped key but the last in each
// keyring it reads, once armed: a read corrupted on its way from the store
// where the active key (the last) arrives intact, so only Rotate's check of
// the keys it writes back, not its check of the active key, can notice.
type corruptOlderKeys struct {
	driver.Collection
	armed *atomic.Bool
}

func (c corruptOlderKeys) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	alerr := c.Collection.RunActions(ctx, actions, opts)
	if !c.armed.Load() {
		return alerr
	}
	for _, a := range actions {
		if rec, ok := a.Doc.Origin.(*layout.KeyringRecord); ok && a.Kind == driver.Get {
			for i := range rec.Keys[:max(len(rec.Keys)-1, 0)] {
				w := bytes.Clone(rec.Keys[i].Wrapped)
				w[len(w)/2] ^= 1
				rec.Keys[i].Wrapped = w
			}
		}
	}
	return alerr
}

// TestRotateRefusesCorruptedOlderKey: when the keyring Rotate reads has an
// older data key corrupted and the active one intact, Rotate fails with
// ErrDecrypt and writes nothing, so the older key, and the values sealed
// under it, survive.
func TestRotateRefusesCorruptedOlderKey(t *testing.T) {
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
	plain := NewKeyring(coll, keeper, nil)
	sealed, err := plain.Seal(ctx, here, []byte("v")) // under data key 1
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Rotate(ctx); err != nil { // data key 2 is active
		t.Fatal(err)
	}
	drv, err := faults.DriverOf(coll)
	if err != nil {
		t.Fatal(err)
	}
	var armed atomic.Bool
	k := NewKeyring(docstore.NewCollection(corruptOlderKeys{drv, &armed}), keeper, nil)
	if err := k.Load(ctx); err != nil {
		t.Fatal(err)
	}
	before := layout.NewKeyringRecord()
	if err := coll.Get(ctx, before); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	if _, err := k.Rotate(ctx); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Rotate over a keyring read with data key 1 corrupted: %v, want ErrDecrypt", err)
	}
	after := layout.NewKeyringRecord()
	if err := coll.Get(ctx, after); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("the stored keyring changed (-before +after):\n%s", diff)
	}
	if got, err := NewKeyring(coll, keeper, nil).Open(ctx, here, sealed); err != nil || string(got) != "v" {
		t.Errorf("a fresh keyring no longer opens the value sealed under data key 1: %v", err)
	}
}

// otherBytesKeeper wraps a flipped copy of what it is given to encrypt: its
// Encrypt answers decrypt without an error, to the wrong bytes.
type otherBytesKeeper struct{ inner *secrets.Keeper }

func (k otherBytesKeeper) Encrypt(ctx context.Context, plain []byte) ([]byte, error) {
	b := bytes.Clone(plain)
	b[0] ^= 1
	return k.inner.Encrypt(ctx, b)
}

func (k otherBytesKeeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	return k.inner.Decrypt(ctx, ciphertext)
}

func (k otherBytesKeeper) Close() error                       { return nil }
func (k otherBytesKeeper) ErrorAs(error, any) bool            { return false }
func (k otherBytesKeeper) ErrorCode(error) gcerrors.ErrorCode { return gcerrors.Unknown }

var _ secretsdriver.Keeper = otherBytesKeeper{}

// TestWrapCheckedAgainstOtherBytes: a keeper whose Encrypt answer unwraps,
// without an error, to bytes other than the new data key makes keyring
// creation and rotation fail with ErrDecrypt, and nothing is stored.
// Otherwise this process would seal under a key no other process unwraps.
func TestWrapCheckedAgainstOtherBytes(t *testing.T) {
	ctx := context.Background()
	secret, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	good := localsecrets.NewKeeper(secret)
	bad := secrets.NewKeeper(otherBytesKeeper{good})
	for _, rotate := range []bool{false, true} {
		coll, err := memdocstore.OpenCollection("ID", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		if rotate {
			if _, err := NewKeyring(coll, good, nil).Seal(ctx, here, []byte("v")); err != nil {
				t.Fatal(err)
			}
		}
		k := NewKeyring(coll, bad, nil)
		var opErr error
		if rotate {
			if err := k.Load(ctx); err != nil {
				t.Fatal(err)
			}
			_, opErr = k.Rotate(ctx)
		} else {
			_, opErr = k.Seal(ctx, here, []byte("v"))
		}
		if !errors.Is(opErr, ErrDecrypt) {
			t.Errorf("rotate %v: %v, want ErrDecrypt", rotate, opErr)
		}
		stored := layout.NewKeyringRecord()
		err = coll.Get(ctx, stored)
		switch {
		case !rotate && gcerrors.Code(err) != gcerrors.NotFound:
			t.Errorf("keyring creation with a keeper that unwraps to other bytes stored a keyring (%v)", err)
		case rotate && (err != nil || len(stored.Keys) != 1):
			t.Errorf("rotation with a keeper that unwraps to other bytes changed the keyring: %d keys, %v", len(stored.Keys), err)
		}
	}
}
