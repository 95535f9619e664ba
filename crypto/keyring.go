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

	"github.com/coffer-go/coffer/internal/layout"
	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
)

// RefreshInterval bounds how long a Keyring keeps sealing under a data key
// after another process made a newer one active: Seal re-reads the keyring
// document (one store read, no keeper call) when its copy is older than this.
// Opening never waits for it: an unknown data-key id reloads at once. The
// interval is measured on the clock given to NewKeyring (coffer's
// Options.Now), so a clock that never moves never refreshes.
const RefreshInterval = 30 * time.Second

// Keyring is the set of data keys of one collection, unwrapped once by the
// keeper and then kept in memory. It is safe for concurrent use.
//
// Freshness: a Keyring seals under the data key that was active when it last
// read the keyring document, and re-reads that document (a store read, never
// a keeper call) on the first Seal after RefreshInterval; so a rotation made
// by another process reaches every Keyring's Seal within RefreshInterval
// (plus one store read). Only keys it has not seen yet cost a keeper call.
type Keyring struct {
	coll *docstore.Collection
	now  func() time.Time

	// loadMu serialises reads and changes of the keyring document; keeper is
	// read and swapped (ChangeKeeper) only under it.
	loadMu sync.Mutex
	keeper *secrets.Keeper

	mu       sync.RWMutex
	keys     map[uint32]cipher.AEAD
	active   uint32
	loadedAt time.Time // when the keyring document was last read
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

// Seal seals plaintext for p under the active data key (see RefreshInterval
// for how fresh "active" is).
func (k *Keyring) Seal(ctx context.Context, p Place, plaintext []byte) ([]byte, error) {
	id, aead, err := k.activeKey(ctx)
	if err != nil {
		return nil, err
	}
	return seal(aead, id, p, plaintext)
}

// activeKey returns the active data key, reading the keyring document first
// when this Keyring has none yet or its copy is older than RefreshInterval.
// On the hot path it costs a clock read and a read lock.
func (k *Keyring) activeKey(ctx context.Context) (uint32, cipher.AEAD, error) {
	k.mu.RLock()
	id, aead, loadedAt := k.active, k.keys[k.active], k.loadedAt
	k.mu.RUnlock()
	if aead != nil && !k.stale(loadedAt) {
		return id, aead, nil
	}
	if err := k.refresh(ctx, loadedAt); err != nil {
		return 0, nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.active, k.keys[k.active], nil
}

// stale reports a keyring copy read at loadedAt as due for a re-read. A clock
// that went backwards counts as stale, so a re-read resets it.
func (k *Keyring) stale(loadedAt time.Time) bool {
	age := k.now().Sub(loadedAt)
	return age >= RefreshInterval || age < 0
}

// refresh re-reads the keyring document unless another caller did so since
// this one saw it read at seen: concurrent Seals after the interval share one
// store read.
func (k *Keyring) refresh(ctx context.Context, seen time.Time) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	k.mu.RLock()
	done := k.keys[k.active] != nil && !k.loadedAt.Equal(seen)
	k.mu.RUnlock()
	if done {
		return nil
	}
	return k.loadLocked(ctx)
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

// ActiveKeyID returns the id of the data key that seals new values, as Seal
// would use it now.
func (k *Keyring) ActiveKeyID(ctx context.Context) (uint32, error) {
	id, _, err := k.activeKey(ctx)
	return id, err
}

// Load reads the keyring document (creating it with one fresh data key when
// the collection has none and this Keyring has never loaded one) and unwraps
// every data key not yet in memory: one keeper Decrypt per new key. Call it
// to see another process's rotation at once rather than within
// RefreshInterval.
func (k *Keyring) Load(ctx context.Context) error {
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	return k.loadLocked(ctx)
}

func (k *Keyring) loadLocked(ctx context.Context) error {
	readAt := k.now()
	rec := layout.NewKeyringRecord()
	err := k.coll.Get(ctx, rec)
	if layout.IsNotFound(err) {
		k.mu.RLock()
		had := len(k.keys) > 0
		k.mu.RUnlock()
		if had {
			// A new keyring would reuse id 1 for another key: refuse
			// rather than seal values no other process could open.
			return errors.New("coffer: the keyring document has disappeared from the collection; restore it from a backup")
		}
		return k.create(ctx)
	}
	if err != nil {
		return fmt.Errorf("coffer: read keyring: %w", err)
	}
	return k.install(ctx, rec, nil, readAt)
}

// create writes a new keyring with one data key. Two processes racing to
// create it agree on whichever write lands first.
func (k *Keyring) create(ctx context.Context) error {
	readAt := k.now()
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("coffer: generate data key: %w", err)
	}
	wrapped, err := k.wrap(ctx, 1, key)
	if err != nil {
		return err
	}
	rec := layout.NewKeyringRecord()
	rec.Active = 1
	rec.Keys = []layout.WrappedKey{{ID: 1, Wrapped: wrapped, CreatedAt: k.now().UTC().Truncate(time.Millisecond)}}
	err = k.coll.Create(ctx, rec)
	if layout.IsAlreadyExists(err) {
		rec = layout.NewKeyringRecord()
		if err := k.coll.Get(ctx, rec); err != nil {
			return fmt.Errorf("coffer: read keyring: %w", err)
		}
		return k.install(ctx, rec, nil, readAt)
	}
	if err != nil {
		return fmt.Errorf("coffer: write keyring: %w", err)
	}
	return k.install(ctx, rec, map[uint32][]byte{1: key}, readAt)
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
// plaintext keys the caller already has) and makes rec.Active active; rec was
// read (or written) at readAt. The caller holds loadMu.
func (k *Keyring) install(ctx context.Context, rec *layout.KeyringRecord, known map[uint32][]byte, readAt time.Time) error {
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
	k.loadedAt = readAt
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
func (k *Keyring) checkStored(ctx context.Context, rec *layout.KeyringRecord) error {
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
//
// Rotate refuses to run when its keeper cannot unwrap the keyring's active
// key (one keeper Decrypt): the keyring has moved to another keeper
// (ChangeKeeper), and a key wrapped by this one would be unreadable there.
func (k *Keyring) Rotate(ctx context.Context) (uint32, error) {
	if err := k.Load(ctx); err != nil {
		return 0, err
	}
	k.loadMu.Lock()
	defer k.loadMu.Unlock()
	for range maxRotateAttempts {
		readAt := k.now()
		rec := layout.NewKeyringRecord()
		if err := k.coll.Get(ctx, rec); err != nil {
			return 0, fmt.Errorf("coffer: read keyring: %w", err)
		}
		if err := k.checkKeeper(ctx, rec); err != nil {
			return 0, err
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
		rec.Keys = append(rec.Keys, layout.WrappedKey{ID: next, Wrapped: wrapped, CreatedAt: k.now().UTC().Truncate(time.Millisecond)})
		rec.Active = next
		err = k.coll.Replace(ctx, rec)
		switch {
		case err == nil:
			return id, k.install(ctx, rec, map[uint32][]byte{id: key}, readAt)
		case layout.IsConflict(err):
			// Another process changed the keyring since the read (some
			// drivers report a stale revision as NotFound): read again.
			continue
		default:
			return 0, fmt.Errorf("coffer: write keyring: %w", err)
		}
	}
	return 0, errors.New("coffer: the keyring kept changing during rotation; try again")
}
