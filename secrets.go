package coffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/coffer-go/coffer/internal/layout"
	"gocloud.dev/docstore"
)

// maxAttempts bounds the read-modify-write retries of Update and Delete.
const maxAttempts = 16

// Create adds a secret. Every problem with s is reported together; a
// rejected call stores nothing. A taken key gives ErrAlreadyExists.
func (m *Manager) Create(ctx context.Context, s NewSecret) (sec Secret, err error) {
	defer func() { m.audit(ctx, "create", s.Key, err) }()
	if err := m.check(ctx); err != nil {
		return Secret{}, err
	}
	if err := m.Validate(s); err != nil {
		return Secret{}, err
	}
	typ := s.Type
	if typ == "" {
		typ = InferType(s.Key)
	}
	now, actor := m.now(), actorOf(ctx)
	sealed, err := m.shared.keyring.Seal(ctx, m.place(s.Key, now), []byte(s.Value))
	if err != nil {
		return Secret{}, keyringError(err)
	}
	rec := m.record(s.Key)
	rec.Project, rec.Environment = m.opts.Project, m.opts.Environment
	rec.Description, rec.Type = s.Description, string(typ)
	rec.CreatedAt, rec.UpdatedAt, rec.RotatedAt = now, now, now
	rec.CreatedBy, rec.UpdatedBy = actor, actor
	rec.Version = 1
	rec.Sealed = sealed
	if err := m.shared.coll.Create(ctx, rec); err != nil {
		if layout.IsAlreadyExists(err) {
			return Secret{}, fmt.Errorf("%w: %q in %s", ErrAlreadyExists, s.Key, m.where())
		}
		return Secret{}, storeError("create", err)
	}
	return toSecret(rec), nil
}

// Get returns a secret's metadata, never its value.
func (m *Manager) Get(ctx context.Context, key string) (sec Secret, err error) {
	defer func() { m.audit(ctx, "get", key, err) }()
	rec, err := m.get(ctx, key, layout.MetadataFields...)
	if err != nil {
		return Secret{}, err
	}
	return toSecret(rec), nil
}

// Reveal returns a secret's value: one store read and one AES-GCM open.
func (m *Manager) Reveal(ctx context.Context, key string) (v Value, err error) {
	defer func() { m.audit(ctx, "reveal", key, err) }()
	rec, err := m.get(ctx, key, layout.SealedFields...)
	if err != nil {
		return "", err
	}
	plain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed)
	if err != nil {
		return "", fmt.Errorf("secret %q in %s: %w", key, m.where(), keyringError(err))
	}
	return Value(plain), nil
}

// deletionFields are what Delete reads: the revision its delete is checked
// against and what the version it keeps needs. A package variable, so that
// a read does not allocate its field list.
var deletionFields = []docstore.FieldPath{"Version", "UpdatedAt", "RotatedAt", "DocstoreRevision"}

// get reads one record (only fields, when given) after checking the key.
// It reads into a map and converts by hand: see layout.Record.SetFields.
func (m *Manager) get(ctx context.Context, key string, fields ...docstore.FieldPath) (*layout.Record, error) {
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	if err := validateKey(key, false); err != nil {
		return nil, err
	}
	rec := m.record(key)
	doc := rec.Doc()
	if err := m.shared.coll.Get(ctx, doc, fields...); err != nil {
		if layout.IsNotFound(err) {
			return nil, m.notFound(ctx, key)
		}
		return nil, storeError("read", err)
	}
	if err := rec.SetFields(doc); err != nil {
		return nil, storeError("read", err)
	}
	return rec, nil
}

// List returns the metadata of every secret of the Manager's project and
// environment, sorted by key. It never reads a sealed value.
//
// The Manager keeps its last List's answer (metadata only, up to 10,000
// secrets) with the revision of each record. The next List first reads
// each record's key and revision (no document's content); when every record
// is as it was, it answers from the kept copy, which is what a full reading
// made now would return. Otherwise it reads the listing in full. Writes by
// any process change revisions, so an answer is never older than the call.
func (m *Manager) List(ctx context.Context) (out []Secret, err error) {
	defer func() { m.audit(ctx, "list", "", err) }()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	if last := m.last.Load(); last != nil {
		same, err := m.unchanged(ctx, last)
		if err != nil {
			return nil, err
		}
		if same {
			return slices.Clone(last.secrets), nil
		}
	}
	out = make([]Secret, 0, m.listed.Load())
	revs := make([]any, 0, cap(out))
	reusable := true
	err = m.scan(ctx, listFieldsAndRevision, func(rec *layout.Record) error {
		out = append(out, toSecret(rec))
		rev, ok := revisionKey(rec.DocstoreRevision)
		reusable = reusable && ok
		revs = append(revs, rev)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.listed.Store(int64(len(out)))
	if reusable && len(out) <= maxKeptListing {
		m.last.Store(&listing{secrets: slices.Clone(out), revs: revs})
	} else {
		m.last.Store(nil)
	}
	return out, nil
}

// maxKeptListing is the most secrets a kept listing holds (about 2 MB of
// metadata); a longer listing is read in full each time. All streams a
// listing of any length without keeping it.
var maxKeptListing = 10_000

// listing is a List's answer kept for the next List: the secrets in key
// order and the revision of each one's record when it was read. It holds
// metadata only, never a sealed value; nobody modifies it.
type listing struct {
	secrets []Secret
	revs    []any // revisionKey of each record
}

// listFieldsAndRevision are what List reads: the listing's fields and the
// revision List's next call compares.
var listFieldsAndRevision = append(slices.Clip(layout.ListFields), layout.RevisionField)

// unchangedFields are what List reads to tell whether its last answer still
// holds: each record's key and revision, never its document's content
// (SQLite answers from its index and the revision column).
var unchangedFields = []docstore.FieldPath{"Key", layout.RevisionField}

// errChanged stops the reading of unchanged at the first difference.
var errChanged = errors.New("coffer: the listing changed")

// unchanged reports whether last is still the scope's listing: the same
// keys, in the same order, each record at the revision last read it at.
// Every write of a record gives it a new revision (docstore's contract; the
// drivers' revisions are unique per write), so a record at the same
// revision holds the same metadata, and List answers with last as it would
// have from a full reading made now. The check reads two short fields per
// record, where a full listing decodes nine.
func (m *Manager) unchanged(ctx context.Context, last *listing) (bool, error) {
	i := 0
	err := m.scan(ctx, unchangedFields, func(rec *layout.Record) error {
		rev, ok := revisionKey(rec.DocstoreRevision)
		if !ok || i >= len(last.secrets) || rec.Key != last.secrets[i].Key || rev != last.revs[i] {
			return errChanged
		}
		i++
		return nil
	})
	if err == errChanged {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return i == len(last.secrets), nil
}

// revisionKey returns a comparable form of a driver's revision: int64
// (memdocstore, sqldocstore), string (MongoDB, DynamoDB) or a timestamp
// (Firestore's update time). ok is false for any other type, or none: List
// then does not keep its answer.
func revisionKey(rev any) (key any, ok bool) {
	switch r := rev.(type) {
	case int64, string:
		return r, true
	case interface{ AsTime() time.Time }:
		t := r.AsTime()
		return [2]int64{t.Unix(), int64(t.Nanosecond())}, true
	}
	return nil, false
}

// Keys returns the keys of every secret of the Manager's project and
// environment, sorted in byte order: the names only, for completion,
// did-you-mean and names-only listings. It is the cheapest listing: it reads
// two short fields per secret, never a sealed value. With no secrets it
// returns an empty, non-nil slice.
func (m *Manager) Keys(ctx context.Context) (keys []string, err error) {
	defer func() { m.audit(ctx, "keys", "", err) }()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	keys, err = m.keys(ctx)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		keys = []string{}
	}
	return keys, nil
}

// scan runs the keyed listing query of the Manager's scope, in key order,
// reading fields of each record. Scope, Project and Environment are the
// Manager's whatever fields says: the query selects them. It reads every
// record into the same map and the same Record (see
// layout.Record.SetFields), so fn must copy what it keeps (strings and the
// Sealed slice are fresh for each record).
func (m *Manager) scan(ctx context.Context, fields []docstore.FieldPath, fn func(*layout.Record) error) error {
	it := layout.ListQuery(m.shared.coll, m.scope).Get(ctx, fields...)
	defer it.Stop()
	doc := make(map[string]any, len(fields))
	rec := &layout.Record{}
	for {
		clear(doc) // no field of the previous record leaks into this one
		err := it.Next(ctx, doc)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return storeError("list", err)
		}
		*rec = layout.Record{Scope: m.scope, Project: m.opts.Project, Environment: m.opts.Environment}
		if err := rec.SetFields(doc); err != nil {
			return storeError("list", err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// Update changes a secret's value, description, or both. An empty value
// keeps the current one; a nil description keeps the current one; when
// nothing is new it returns ErrNoChanges. The key never changes. Update is a
// read-modify-write under the store's revision, retried when another writer
// got there first, so concurrent updates never lose one another; with
// Change.IfVersion it applies only to the version the caller saw. A new
// value keeps the one it replaces as a version (see Versions).
func (m *Manager) Update(ctx context.Context, key string, c Change) (sec Secret, err error) {
	defer func() { m.audit(ctx, "update", key, err) }()
	if err := m.check(ctx); err != nil {
		return Secret{}, err
	}
	var p problems
	p.add(validateKey(key, false))
	if c.Value != "" {
		p.add(validateValue(c.Value, m.opts.MaxValueBytes))
	}
	if c.Description != nil {
		p.add(validateDescription(*c.Description))
	}
	if c.IfVersion < 0 {
		p.add(fmt.Errorf("%w: IfVersion is %d; use 0 for none or the version the change was made to", ErrInvalidOptions, c.IfVersion))
	}
	if err := p.result(); err != nil {
		return Secret{}, err
	}
	if c.Value == "" && c.Description == nil {
		return Secret{}, ErrNoChanges
	}
	e := edit{description: c.Description}
	if c.Value != "" {
		e.value = []byte(c.Value)
	}
	return m.rewrite(ctx, key, c.IfVersion, func(_ context.Context, rec *layout.Record) (edit, error) {
		if c.Value == "" && *c.Description == rec.Description {
			return edit{}, ErrNoChanges
		}
		return e, nil
	})
}

// Delete removes a secret and its sealed value for good, with every version
// of it. A missing key gives ErrNotFound. Writers of the key racing a Delete
// cannot keep it from landing: after a few lost races it deletes whatever the
// key holds.
func (m *Manager) Delete(ctx context.Context, key string) (err error) {
	defer func() { m.audit(ctx, "delete", key, err) }()
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
		rec, err := m.get(ctx, key, deletionFields...)
		if errors.Is(err, ErrNotFound) {
			// Finish what an interrupted Delete of the key left: its
			// past versions.
			if err := m.sweep(ctx, key); err != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
		// The revision makes the delete fail if the record changed or went
		// away since the read, so a missing key is reported, not ignored.
		// A Delete that keeps losing to writers of the key (each changes
		// the revision between its read and its delete) deletes, after
		// conditionalDeletes tries, whatever record the key holds: it has
		// just seen the secret exist, and the caller asked for the key to
		// be gone, whatever was written to it meanwhile.
		unconditional := attempt >= conditionalDeletes
		if unconditional {
			rec.DocstoreRevision = nil
		}
		err = m.shared.coll.Delete(ctx, rec)
		if err == nil {
			// The secret no longer lists; now destroy its past values. A
			// record deleted without its revision may have gained versions
			// since the read.
			if unconditional || mayHaveHistory(rec) {
				return m.sweep(ctx, key)
			}
			return nil
		}
		if !layout.IsConflict(err) {
			return storeError("delete", err)
		}
	}
	return fmt.Errorf("%w: %q in %s", ErrConflict, key, m.where())
}

// conditionalDeletes is how many times Delete deletes under the revision
// it read before it deletes without one (see Delete).
const conditionalDeletes = 4

// maxBackoff caps the wait before one retry of a write that lost a race.
const maxBackoff = 100 * time.Millisecond

// backoff waits before attempt (0-based) of a read-modify-write: not at all
// before the first, then a random time up to 2 ms, 4 ms, 8 ms, ... capped at
// maxBackoff. Writers that collided retry at different moments instead of
// colliding again in lockstep, which on a store with real latency (DynamoDB)
// would use up every attempt under contention. It returns ctx's error if
// ctx ends first.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	limit := min(2*time.Millisecond<<(attempt-1), maxBackoff)
	timer := time.NewTimer(rand.N(limit))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Require checks that every key exists, reporting all missing keys at once
// (each an ErrNotFound, with a suggestion when one is close). Call it at
// start-up with the keys a program needs.
func (m *Manager) Require(ctx context.Context, keys ...string) (err error) {
	defer func() { m.audit(ctx, "require", "", err) }()
	if err := m.check(ctx); err != nil {
		return err
	}
	stored, err := m.keys(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(stored))
	for _, k := range stored {
		have[k] = true
	}
	var p problems
	for _, k := range keys {
		if err := validateKey(k, false); err != nil {
			p.add(err)
			continue
		}
		if !have[k] {
			p.add(m.notFoundAmong(k, stored))
		}
	}
	return p.result()
}

// Environ returns every secret of the Manager's project and environment as
// "KEY=value", sorted by key, ready for exec.Cmd.Env. The strings hold the
// values: handle them as secrets.
func (m *Manager) Environ(ctx context.Context) (env []string, err error) {
	defer func() { m.audit(ctx, "environ", "", err) }()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	env = []string{}
	err = m.scan(ctx, layout.EnvironFields, func(rec *layout.Record) error {
		plain, err := m.shared.keyring.Open(ctx, m.place(rec.Key, rec.CreatedAt), rec.Sealed)
		if err != nil {
			return fmt.Errorf("secret %q in %s: %w", rec.Key, m.where(), keyringError(err))
		}
		env = append(env, rec.Key+"="+string(plain))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return env, nil
}

// keys returns the stored keys of the scope, in order.
func (m *Manager) keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := m.scan(ctx, layout.KeyFields, func(rec *layout.Record) error {
		keys = append(keys, rec.Key)
		return nil
	})
	return keys, err
}

// notFound builds the ErrNotFound for key, suggesting a stored key that
// differs only in case or underscores. It costs one keyed listing, paid only
// when a key is missing.
func (m *Manager) notFound(ctx context.Context, key string) error {
	stored, err := m.keys(ctx)
	if err != nil {
		stored = nil // the suggestion is a courtesy; the answer is still "not found"
	}
	return m.notFoundAmong(key, stored)
}

func (m *Manager) notFoundAmong(key string, stored []string) error {
	want := fold(key)
	for _, k := range stored {
		if k != key && fold(k) == want {
			return fmt.Errorf("%w: %q in %s; did you mean %s?", ErrNotFound, key, m.where(), k)
		}
	}
	return fmt.Errorf("%w: %q in %s", ErrNotFound, key, m.where())
}

// fold maps keys that differ only in case or underscores to one form.
func fold(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, "_", ""))
}

func toSecret(r *layout.Record) Secret {
	return Secret{
		Key:         r.Key,
		Description: r.Description,
		Project:     r.Project,
		Environment: r.Environment,
		Type:        Type(r.Type),
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
		RotatedAt:   r.RotatedAt,
		CreatedBy:   r.CreatedBy,
		UpdatedBy:   r.UpdatedBy,
		Version:     r.Version,
	}
}
