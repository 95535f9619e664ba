package coffer

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"slices"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/internal/layout"
)

// DefaultMaxVersions is the number of versions kept per secret, the current
// one included, when Options.MaxVersions is 0.
const DefaultMaxVersions = 10

// How history is written (doc.go, "Versions"; the documents: "Stored schema").
// coffer uses no transactions, so each write stands alone and the order
// makes every interruption harmless:
//
//  1. keep: create the version document of the value being replaced
//     (keepVersion). Its ID is fixed by the version, so two writers
//     replacing the same version write the same document;
//  2. the revision-checked Replace of the secret's record, which makes the
//     new value current;
//  3. prune: delete the version that fell out of the last MaxVersions.
//
// Interrupted after 1, the store holds a version document of the current
// value, which no listing shows and the next value change reuses; after 2, one
// version too many, which Versions hides and destroys. Delete removes the
// record first (it stops listing at once), then the versions (sweep).

// edit is what one attempt of a read-modify-write applies to a record.
type edit struct {
	value       []byte  // the new value; nil keeps the current one
	description *string // nil keeps the current description
}

// rewrite is the read-modify-write of Update and Rollback: read the record,
// let prepare decide the edit, keep the replaced value as a version, write
// under the record's revision, prune. A lost race reads again and
// reapplies (up to maxAttempts, after backoff). ifVersion, when not 0, makes
// the write apply only while the record is at that version.
func (m *Manager) rewrite(ctx context.Context, key string, ifVersion int, prepare func(context.Context, *layout.Record) (edit, error)) (Secret, error) {
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return Secret{}, err
		}
		rec, err := m.get(ctx, key)
		if err != nil {
			return Secret{}, err
		}
		if ifVersion != 0 && rec.Version != ifVersion {
			return Secret{}, fmt.Errorf("%w: %q in %s is at version %d, not %d", ErrConflict, key, m.where(), rec.Version, ifVersion)
		}
		e, err := prepare(ctx, rec)
		if err != nil {
			return Secret{}, err
		}
		var current []byte
		if e.value == nil || m.opts.MaxVersions > 1 {
			// The record is written back whole, and a replaced value is
			// kept as a version: check the envelope still opens, so an
			// envelope corrupted on its way from the store is reported
			// rather than stored.
			current, err = m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed)
			if err != nil && (e.value == nil || !errors.Is(err, ErrDecrypt)) {
				return Secret{}, fmt.Errorf("secret %q in %s: %w", key, m.where(), keyringError(err))
			}
			if err != nil {
				// A new value over one this process cannot open. If the
				// read was damaged on its way, read again; if the store
				// holds that envelope, it is replaced (as ever) and kept as
				// it is: a keyring that can open it may still reveal it.
				stored, err := m.stillStored(ctx, key, rec.Sealed)
				if err != nil {
					return Secret{}, err
				}
				if !stored {
					continue
				}
			}
		}
		err = m.keepVersion(ctx, key, rec, current, e.value != nil)
		clear(current)
		if err != nil {
			return Secret{}, err
		}
		now := m.now()
		if e.value != nil {
			// Sealed after the read: the envelope binds the record's
			// creation time, which only the read tells.
			sealed, err := m.shared.keyring.Seal(ctx, m.place(key, rec.CreatedAt), e.value)
			if err != nil {
				return Secret{}, keyringError(err)
			}
			rec.Sealed = sealed
			rec.Version++
			rec.RotatedAt = now
		}
		if e.description != nil {
			rec.Description = *e.description
		}
		rec.UpdatedAt, rec.UpdatedBy = now, actorOf(ctx)
		err = m.shared.coll.Replace(ctx, rec)
		if err == nil {
			if e.value != nil {
				m.prune(ctx, key, rec.Version)
			}
			return toSecret(rec), nil
		}
		if !layout.IsConflict(err) {
			return Secret{}, storeError("update", err)
		}
		// Someone else wrote (or deleted) the record since we read it:
		// read again and reapply the change.
	}
	return Secret{}, fmt.Errorf("%w: %q in %s", ErrConflict, key, m.where())
}

// stillStored reports whether the store still holds sealed as key's value.
func (m *Manager) stillStored(ctx context.Context, key string, sealed []byte) (bool, error) {
	rec, err := m.get(ctx, key, layout.SealedFields...)
	if err != nil {
		return false, err
	}
	return bytes.Equal(rec.Sealed, sealed), nil
}

// setter returns who set the current value of rec, as far as the record
// tells: its creator at version 1; else its last updater, unless a
// description edit came after the value change (UpdatedAt moved past
// RotatedAt), and then "" (unknown). keepVersion records the setter before
// the first such edit, so it is known for every value set since history
// exists.
func setter(rec *layout.Record) string {
	switch {
	case rec.Version == 1:
		return rec.CreatedBy
	case rec.UpdatedAt.Equal(rec.RotatedAt):
		return rec.UpdatedBy
	}
	return ""
}

// keepVersion makes sure the version document of rec's current value
// exists, before rec is written back: for a value change (the value is
// about to be replaced), and for the first description edit after a value
// change (which overwrites UpdatedBy, the only record of who set the value).
// plain is the current value, opened; nil when this process cannot open
// it. With MaxVersions 1 nothing is kept.
//
// A document already there is either this version's (written by a writer
// that raced this one, or by an earlier attempt) and left as it is, or a
// left-over of an earlier secret of the same key, deleted and created
// again, that an interrupted Delete left behind: it is overwritten.
func (m *Manager) keepVersion(ctx context.Context, key string, rec *layout.Record, plain []byte, valueChange bool) error {
	if m.opts.MaxVersions < 2 || (!valueChange && !rec.UpdatedAt.Equal(rec.RotatedAt)) {
		return nil
	}
	doc := m.versionRecord(key, rec.Version)
	doc.Project, doc.Environment, doc.SecretKey = m.opts.Project, m.opts.Environment, key
	doc.CreatedAt, doc.Version = rec.CreatedAt, rec.Version
	doc.SetAt, doc.SetBy = rec.RotatedAt, setter(rec)
	// The same envelope (the version is sealed for the secret's place), or
	// the value sealed again when its data key is no longer the active one,
	// so versions kept after a RotateDataKey are not under an older key.
	doc.Sealed = rec.Sealed
	if plain != nil {
		sealed, _, err := m.shared.keyring.Reseal(ctx, m.place(key, rec.CreatedAt), rec.Sealed)
		if err != nil {
			return keyringError(err)
		}
		doc.Sealed = sealed
	}
	for range maxAttempts {
		err := m.shared.coll.Create(ctx, doc)
		if err == nil {
			return nil
		}
		if !layout.IsAlreadyExists(err) {
			return storeError("keep version", err)
		}
		have := m.versionRecord(key, rec.Version)
		err = m.shared.coll.Get(ctx, have)
		if layout.IsNotFound(err) {
			doc.DocstoreRevision = nil
			continue // destroyed meanwhile (a Delete's sweep): create it again
		}
		if err != nil {
			return storeError("keep version", err)
		}
		same, err := m.sameVersion(ctx, key, have, rec, plain)
		if err != nil || same {
			return err
		}
		doc.DocstoreRevision = have.DocstoreRevision
		err = m.shared.coll.Replace(ctx, doc)
		if err == nil {
			return nil
		}
		if !layout.IsConflict(err) {
			return storeError("keep version", err)
		}
		doc.DocstoreRevision = nil
	}
	return fmt.Errorf("%w: a version of %q in %s kept changing", ErrConflict, key, m.where())
}

// sameVersion reports whether have, a stored version document, is the
// document of rec's current version: same secret (CreatedAt), same version
// and the same value as plain, rec's value opened (nil: not opened). A value re-sealed since
// (Reseal) has other bytes but opens to the same value.
func (m *Manager) sameVersion(ctx context.Context, key string, have *layout.VersionRecord, rec *layout.Record, plain []byte) (bool, error) {
	if !have.Consistent() || have.SecretKey != key || !have.CreatedAt.Equal(rec.CreatedAt) || have.Version != rec.Version {
		return false, nil
	}
	if bytes.Equal(have.Sealed, rec.Sealed) {
		return true, nil
	}
	if plain == nil {
		return false, nil // rec's value does not open here: keep its envelope
	}
	got, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), have.Sealed)
	if errors.Is(err, ErrDecrypt) {
		return false, nil
	}
	if err != nil {
		return false, keyringError(err)
	}
	defer clear(got)
	return subtle.ConstantTimeCompare(got, plain) == 1, nil
}

// versionRecord returns the version document of key's version with its key
// fields set.
func (m *Manager) versionRecord(key string, version int) *layout.VersionRecord {
	return layout.NewVersionRecord(m.opts.Project, m.opts.Environment, key, version)
}

// prune destroys the version of key that version, the new current one,
// pushed out of the last MaxVersions. The value change has landed, so it
// runs even when ctx is cancelled, and a failure changes nothing the caller
// sees: the version stays hidden, and Versions or Delete destroys it later.
func (m *Manager) prune(ctx context.Context, key string, version int) {
	old := version - m.opts.MaxVersions
	// Under MaxVersions 1 keepVersion writes no version, so there is none
	// to push out: no store call. Documents left by a Manager that kept
	// more are destroyed by Versions and Delete.
	if old < 1 || m.opts.MaxVersions < 2 {
		return
	}
	_ = m.shared.coll.Delete(context.WithoutCancel(ctx), m.versionRecord(key, old))
}

// versionDocs returns the metadata of every version document stored for
// key, whichever secret of that key it belongs to, in version order: one
// keyed query of the key's history scope.
func (m *Manager) versionDocs(ctx context.Context, key string) ([]*layout.VersionRecord, error) {
	scope := layout.HistoryScope(m.opts.Project, m.opts.Environment, key)
	it := layout.ListQuery(m.shared.coll, scope).Get(ctx, layout.VersionMetadataFields...)
	defer it.Stop()
	var docs []*layout.VersionRecord
	for {
		doc := &layout.VersionRecord{}
		err := it.Next(ctx, doc)
		if err == io.EOF {
			return docs, nil
		}
		if err != nil {
			return nil, storeError("list versions", err)
		}
		docs = append(docs, doc)
	}
}

// historyFields are the record fields that place its versions.
var historyFields = []docstore.FieldPath{"ID", "CreatedAt", "CreatedBy", "UpdatedAt", "UpdatedBy", "RotatedAt", "Version"}

// history reads key's version documents, then its record (nil when there is
// none), and sorts the documents into those of kept versions of the record
// (newest first), the document of the current version if any, and garbage.
//
// The order of the reads makes the garbage safe to destroy: a document of
// another secret of the key (another CreatedAt) was written before the
// record was read, so it cannot belong to a secret created after that read;
// and the record's Version only grows, so a version that fell out of the
// last MaxVersions never comes back.
func (m *Manager) history(ctx context.Context, key string) (h versionSet, err error) {
	docs, err := m.versionDocs(ctx, key)
	if err != nil {
		return h, err
	}
	rec := m.record(key)
	err = m.shared.coll.Get(ctx, rec, historyFields...)
	switch {
	case layout.IsNotFound(err):
		h.garbage = docs
		return h, nil
	case err != nil:
		return h, storeError("read", err)
	}
	h.rec = rec
	for _, d := range docs {
		switch {
		case !d.Consistent() || d.SecretKey != key || !d.CreatedAt.Equal(rec.CreatedAt) ||
			d.Version > rec.Version || d.Version <= rec.Version-m.opts.MaxVersions:
			h.garbage = append(h.garbage, d)
		case d.Version == rec.Version:
			// Kept by a description edit, or by a value change in
			// flight or interrupted: it tells who set the current value.
			h.current = d
		default:
			h.kept = append(h.kept, d)
		}
	}
	slices.Reverse(h.kept)
	return h, nil
}

// versionSet is what history found.
type versionSet struct {
	rec     *layout.Record // nil: no secret has the key
	kept    []*layout.VersionRecord
	current *layout.VersionRecord
	garbage []*layout.VersionRecord
}

// destroy deletes version documents, each only if it is unchanged since it
// was read (a document written again meanwhile belongs to someone else now).
// Documents already gone or changed are not errors.
func (m *Manager) destroy(ctx context.Context, docs []*layout.VersionRecord) error {
	if len(docs) == 0 {
		return nil
	}
	deletes := m.shared.coll.Actions()
	for _, d := range docs {
		deletes.Delete(&layout.VersionRecord{ID: d.ID, Scope: d.Scope, Key: d.Key, DocstoreRevision: d.DocstoreRevision})
	}
	err := deletes.Do(ctx)
	var errs docstore.ActionListError
	if err == nil || !errors.As(err, &errs) {
		return err
	}
	for _, e := range errs {
		if !layout.IsConflict(e.Err) {
			return e.Err
		}
	}
	return nil
}

// sweep destroys every version document of key that belongs to no kept
// version of a current secret: after a Delete, all of them.
func (m *Manager) sweep(ctx context.Context, key string) error {
	h, err := m.history(ctx, key)
	if err == nil {
		err = m.destroy(ctx, h.garbage)
	}
	if err != nil {
		return fmt.Errorf("coffer: delete: the past versions of %q in %s were not all destroyed; run Delete again to finish: %w", key, m.where(), keyringError(err))
	}
	return nil
}

// mayHaveHistory reports whether a secret's record, as read by Delete, can
// have version documents of its own: it had a value change or a description
// edit (which keeps who set the value).
func mayHaveHistory(rec *layout.Record) bool {
	return rec.Version > 1 || !rec.UpdatedAt.Equal(rec.RotatedAt)
}
