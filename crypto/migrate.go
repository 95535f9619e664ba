package crypto

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/coffer-go/coffer/internal/layout"
	"gocloud.dev/secrets"
)

// Reseal returns sealed, which belongs at p, sealed again under the active
// data key, and true; a value already under the active key comes back as it
// is, with false, without being opened. The plaintext exists only in memory
// for the moment between opening and sealing.
func (k *Keyring) Reseal(ctx context.Context, p Place, sealed []byte) ([]byte, bool, error) {
	env, err := Parse(sealed)
	if err != nil {
		return nil, false, err
	}
	id, aead, err := k.activeKey(ctx)
	if err != nil {
		return nil, false, err
	}
	if env.KeyID == id {
		return sealed, false, nil
	}
	plain, err := k.Open(ctx, p, sealed)
	if err != nil {
		return nil, false, err
	}
	defer clear(plain)
	out, err := seal(aead, id, p, plain)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// ChangeKeeper re-wraps every data key of the keyring under newKeeper and
// makes this Keyring wrap future keys with it. No sealed value changes: the
// data keys stay the same, only their wrapping moves. The keyring document
// is replaced under its revision, so a rotation racing with the move is
// either re-wrapped too or refused (see Rotate).
//
// Each key costs one Decrypt by the current keeper and an Encrypt and a
// Decrypt by newKeeper: the round trip proves newKeeper can give the key
// back (a KMS policy that allows encrypt but not decrypt would otherwise lock
// every secret away). A key already wrapped by newKeeper is kept as is, so
// running ChangeKeeper again after a success is harmless.
//
// The caller keeps ownership of newKeeper and must keep it open while the
// Keyring is in use. Other processes holding the old keeper still open
// values with the keys they have unwrapped, but cannot unwrap keys added
// later and cannot rotate: restart them with newKeeper.
func (k *Keyring) ChangeKeeper(ctx context.Context, newKeeper *secrets.Keeper) error {
	if newKeeper == nil {
		return errors.New("coffer: ChangeKeeper needs a keeper")
	}
	if err := k.Load(ctx); err != nil {
		return err
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	for range maxRotateAttempts {
		readAt := k.now()
		rec := layout.NewKeyringRecord()
		if err := k.coll.Get(ctx, rec); err != nil {
			return fmt.Errorf("coffer: read keyring: %w", err)
		}
		plain, err := k.rewrap(ctx, rec, newKeeper)
		if err != nil {
			return err
		}
		err = k.coll.Replace(ctx, rec)
		switch {
		case err == nil:
			k.keeper = newKeeper
			err = k.install(ctx, rec, plain, readAt)
			for _, key := range plain {
				clear(key)
			}
			return err
		case layout.IsConflict(err):
			// The keyring changed since the read (a rotation): start over
			// so the new key is re-wrapped too.
			for _, key := range plain {
				clear(key)
			}
			continue
		default:
			return fmt.Errorf("coffer: write keyring: %w", err)
		}
	}
	return errors.New("coffer: the keyring kept changing while moving it to the new keeper; try again")
}

// rewrap replaces, in rec, every key's wrapping by one of newKeeper, and
// returns the plaintext keys by id.
func (k *Keyring) rewrap(ctx context.Context, rec *layout.KeyringRecord, newKeeper *secrets.Keeper) (map[uint32][]byte, error) {
	plain := make(map[uint32][]byte, len(rec.Keys))
	fail := func(err error) (map[uint32][]byte, error) {
		for _, key := range plain {
			clear(key)
		}
		return nil, err
	}
	for i, w := range rec.Keys {
		id, err := keyID(w.ID)
		if err != nil {
			return fail(err)
		}
		key, err := k.keeper.Decrypt(ctx, w.Wrapped)
		if err != nil {
			// Already moved (a second run, or another process ran it)?
			if again, err2 := newKeeper.Decrypt(ctx, w.Wrapped); err2 == nil {
				plain[id] = again
				continue
			}
			return fail(unwrapError(id, err))
		}
		plain[id] = key
		wrapped, err := newKeeper.Encrypt(ctx, key)
		if err != nil {
			return fail(fmt.Errorf("coffer: wrap data key %d with the new keeper: %w", id, err))
		}
		back, err := newKeeper.Decrypt(ctx, wrapped)
		if err != nil {
			return fail(fmt.Errorf("coffer: the new keeper cannot unwrap data key %d it just wrapped: %w", id, err))
		}
		same := bytes.Equal(back, key)
		clear(back)
		if !same {
			return fail(fmt.Errorf("coffer: the new keeper gave back other bytes for data key %d", id))
		}
		rec.Keys[i].Wrapped = wrapped
	}
	return plain, nil
}

// checkKeeper makes sure this Keyring's keeper wraps rec's keys, by
// unwrapping the active one.
func (k *Keyring) checkKeeper(ctx context.Context, rec *layout.KeyringRecord) error {
	for _, w := range rec.Keys {
		if w.ID != rec.Active {
			continue
		}
		key, err := k.keeper.Decrypt(ctx, w.Wrapped)
		if err != nil {
			return fmt.Errorf("coffer: refusing to rotate: this keeper cannot unwrap the keyring's active data key (was the keyring moved to another keeper?): %w", unwrapError(uint32(w.ID), err))
		}
		clear(key)
		return nil
	}
	return fmt.Errorf("coffer: keyring names active data key %d but does not hold it", rec.Active)
}
