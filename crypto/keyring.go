package crypto

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"sync"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer/backend"
)

// Keyring is the set of data keys of one collection, unwrapped once by the
// keeper and then kept in memory. It is safe for concurrent use.
type Keyring struct {
	coll   *docstore.Collection
	keeper *secrets.Keeper
	now    func() time.Time

	loadMu sync.Mutex // one load at a time

	mu     sync.RWMutex
	keys   map[uint32]cipher.AEAD
	active uint32
	// stored holds each key's wrapped bytes as this keyring unwrapped
	// them, so Rotate can tell an unchanged key from one it must check.
	stored map[uint32][]byte
}

// NewKeyring returns a keyring kept in coll and wrapped by keeper. Nothing is
// read until the first Seal or Open; the keyring document is created on first
// use when the collection has none.
func NewKeyring(coll *docstore.Collection, keeper *secrets.Keeper, now func() time.Time) *Keyring {
	if now == nil {
		now = time.Now
	}
	return &Keyring{coll: coll, keeper: keeper, now: now, keys: map[uint32]cipher.AEAD{}, stored: map[uint32][]byte{}}
}

// Seal seals plaintext for p under the active data key.
func (k *Keyring) Seal(ctx context.Context, p Place, plaintext []byte) ([]byte, error) {
	k.mu.RLock()
	id, aead := k.active, k.keys[k.active]
	k.mu.RUnlock()
	if aead == nil {
		if err := k.Load(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		id, aead = k.active, k.keys[k.active]
		k.mu.RUnlock()
	}
	return seal(aead, id, p, plaintext)
}

// Open opens a value sealed for p. A data-key id it does not know (a key
// added by another process) reloads the keyring once.
func (k *Keyring) Open(ctx context.Context, p Place, sealed []byte) ([]byte, error) {
	env, err := Parse(sealed)
	if err != nil {
		return nil, err
	}
	k.mu.RLock()
	aead := k.keys[env.KeyID]
	k.mu.RUnlock()
	if aead == nil {
		if err := k.Load(ctx); err != nil {
			return nil, err
		}
		k.mu.RLock()
		aead = k.keys[env.KeyID]
		k.mu.RUnlock()
		if aead == nil {
			return nil, fmt.Errorf("%w: data key %d is not in the keyring", ErrDecrypt, env.KeyID)
		}
	}
	return open(aead, env, p)
}

// ActiveKeyID returns the id of the data key that seals new values, loading
// the keyring if needed.
func (k *Keyring) ActiveKeyID(ctx context.Context) (uint32, error) {
	k.mu.RLock()
	id, ok := k.active, k.keys[k.active] != nil
	k.mu.RUnlock()
	if ok {
		return id, nil
	}
	if err := k.Load(ctx); err != nil {
		return 0, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active, nil
}

// Load reads the keyring document (creating it with one fresh data key when
// the collection has none) and unwraps every data key not yet in memory: one
// keeper Decrypt per new key.
func (k *Keyring) Load(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	rec := backend.NewKeyringRecord()
	err := k.coll.Get(ctx, rec)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return k.create(ctx)
	}
	if err != nil {
		return fmt.Errorf("coffer: read keyring: %w", err)
	}
	return k.install(ctx, rec, nil)
}

// create writes a new keyring with one data key. Two processes racing to
// create it agree on whichever write lands first.
func (k *Keyring) create(ctx context.Context) error {
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("coffer: generate data key: %w", err)
	}
	wrapped, err := k.wrap(ctx, 1, key)
	if err != nil {
		return err
	}
	rec := backend.NewKeyringRecord()
	rec.Active = 1
	rec.Keys = []backend.WrappedKey{{ID: 1, Wrapped: wrapped, CreatedAt: k.now().UTC().Truncate(time.Millisecond)}}
	err = k.coll.Create(ctx, rec)
	if gcerrors.Code(err) == gcerrors.AlreadyExists {
		rec = backend.NewKeyringRecord()
		if err := k.coll.Get(ctx, rec); err != nil {
			return fmt.Errorf("coffer: read keyring: %w", err)
		}
		return k.install(ctx, rec, nil)
	}
	if err != nil {
		return fmt.Errorf("coffer: write keyring: %w", err)
	}
	return k.install(ctx, rec, map[uint32][]byte{1: key})
}

// wrap has the keeper wrap a new data key, then checks that the keeper
// unwraps the result to the same key before anything is sealed under it or
// the wrapped bytes are stored. A keeper that answers Encrypt with bytes it
// cannot decrypt (a fault, a corrupted response) would otherwise leave a
// keyring entry whose values only this process could open, and only until it
// exits. The check costs one keeper Decrypt per new data key, never one per
// value.
func (k *Keyring) wrap(ctx context.Context, id uint32, key []byte) ([]byte, error) {
	wrapped, err := k.keeper.Encrypt(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("coffer: wrap data key: %w", err)
	}
	back, err := k.keeper.Decrypt(ctx, wrapped)
	if err != nil {
		return nil, unwrapError(id, err)
	}
	if subtle.ConstantTimeCompare(back, key) != 1 {
		return nil, fmt.Errorf("%w: the keeper unwraps a new data key to different bytes; nothing was stored", ErrDecrypt)
	}
	return wrapped, nil
}

// install unwraps the keys of rec that are not in memory yet (known holds
// plaintext keys the caller already has) and makes rec.Active active.
func (k *Keyring) install(ctx context.Context, rec *backend.KeyringRecord, known map[uint32][]byte) error {
	k.mu.RLock()
	have := make(map[uint32]bool, len(k.keys))
	for id := range k.keys {
		have[id] = true
	}
	k.mu.RUnlock()
	added := map[uint32]cipher.AEAD{}
	addedWrapped := map[uint32][]byte{}
	for _, w := range rec.Keys {
		id, err := keyID(w.ID)
		if err != nil {
			return err
		}
		if have[id] {
			continue
		}
		plain, ok := known[id]
		if !ok {
			plain, err = k.keeper.Decrypt(ctx, w.Wrapped)
			if err != nil {
				return unwrapError(id, err)
			}
		}
		aead, err := newAEAD(plain)
		if err != nil {
			return fmt.Errorf("%w: data key %d: %v", ErrDecrypt, id, err)
		}
		added[id] = aead
		addedWrapped[id] = w.Wrapped
	}
	active, err := keyID(rec.Active)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, aead := range added {
		k.keys[id] = aead
		k.stored[id] = addedWrapped[id]
	}
	if k.keys[active] == nil {
		return fmt.Errorf("coffer: keyring names active data key %d but does not hold it", active)
	}
	k.active = active
	return nil
}

func keyID(v int64) (uint32, error) {
	if v <= 0 || v > 1<<32-1 {
		return 0, fmt.Errorf("coffer: keyring holds an invalid data-key id %d", v)
	}
	return uint32(v), nil
}

// unwrapError reports a keeper that could not unwrap a data key. A keeper
// that answered (wrong key, tampered bytes) gives ErrDecrypt; a keeper that
// could not be reached keeps its own error, so callers can retry.
func unwrapError(id uint32, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("coffer: unwrap data key %d: %w", id, err)
	}
	switch gcerrors.Code(err) {
	case gcerrors.Canceled, gcerrors.DeadlineExceeded, gcerrors.ResourceExhausted, gcerrors.Internal:
		return fmt.Errorf("coffer: unwrap data key %d: %w", id, err)
	}
	return fmt.Errorf("%w: the keeper cannot unwrap data key %d: %w", ErrDecrypt, id, err)
}

// checkStored makes sure Rotate writes back only wrapped keys that unwrap.
// Rotation reads the keyring document, extends it and replaces it whole, so a
// read that returned corrupted bytes would otherwise be stored over every
// data key, and every value would be lost. A key whose bytes are those this
// keyring unwrapped costs nothing; a changed one (another process moved the
// keyring to a new keeper) costs one keeper Decrypt.
func (k *Keyring) checkStored(ctx context.Context, rec *backend.KeyringRecord) error {
	for _, w := range rec.Keys {
		id, err := keyID(w.ID)
		if err != nil {
			return err
		}
		k.mu.RLock()
		seen := k.stored[id]
		k.mu.RUnlock()
		if seen != nil && bytes.Equal(seen, w.Wrapped) {
			continue
		}
		if _, err := k.keeper.Decrypt(ctx, w.Wrapped); err != nil {
			return fmt.Errorf("coffer: rotate: nothing written: %w", unwrapError(id, err))
		}
	}
	return nil
}

// maxRotateAttempts bounds the retries of a keyring change that lost a race
// with another process changing the keyring.
const maxRotateAttempts = 16

// Rotate adds a fresh data key to the keyring and makes it active: values
// sealed from now on use it, and values sealed under older keys still open.
// The change is revision-checked, so two processes rotating at once each add
// a key and neither is lost. It returns the new key's id.
func (k *Keyring) Rotate(ctx context.Context) (uint32, error) {
	if err := k.Load(ctx); err != nil {
		return 0, err
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	for range maxRotateAttempts {
		rec := backend.NewKeyringRecord()
		if err := k.coll.Get(ctx, rec); err != nil {
			return 0, fmt.Errorf("coffer: read keyring: %w", err)
		}
		if err := k.checkStored(ctx, rec); err != nil {
			return 0, err
		}
		var next int64 = 1
		for _, w := range rec.Keys {
			next = max(next, w.ID+1)
		}
		id, err := keyID(next)
		if err != nil {
			return 0, err
		}
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return 0, fmt.Errorf("coffer: generate data key: %w", err)
		}
		wrapped, err := k.wrap(ctx, id, key)
		if err != nil {
			return 0, err
		}
		rec.Keys = append(rec.Keys, backend.WrappedKey{ID: next, Wrapped: wrapped, CreatedAt: k.now().UTC().Truncate(time.Millisecond)})
		rec.Active = next
		err = k.coll.Replace(ctx, rec)
		switch gcerrors.Code(err) {
		case gcerrors.OK:
			return id, k.install(ctx, rec, map[uint32][]byte{id: key})
		case gcerrors.FailedPrecondition, gcerrors.NotFound:
			// Another process changed the keyring since the read (some
			// drivers report a stale revision as NotFound): read again.
			continue
		default:
			return 0, fmt.Errorf("coffer: write keyring: %w", err)
		}
	}
	return 0, errors.New("coffer: the keyring kept changing during rotation; try again")
}
