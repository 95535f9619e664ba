package coffer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/internal/layout"
)

// Version is one value a secret has had: the current one, or an earlier
// one kept as history (Options.MaxVersions). It is metadata only.
type Version struct {
	Version   int       // as Secret.Version counted it: 1 at create, +1 per value change
	CreatedAt time.Time // when this value was set
	CreatedBy string    // who set it (WithActor); "" when unknown
	Current   bool      // the value Reveal returns
}

// Versions returns the versions of a secret that can be revealed, newest
// first: the current one, then those kept as history, at most
// Options.MaxVersions in all. A store written before coffer kept history
// lists only the current version until its next value change. Like Get it
// never reads a value: one store read of the record and one keyed query of
// the secret's history, and no keeper call.
//
// Version documents that belong to no listed version — left by an
// interrupted Delete or value change, or beyond a MaxVersions that was
// lowered — are destroyed on the way.
//
// CreatedBy is who set the value (WithActor). It is "" for a value set
// before coffer kept history and then followed by a description edit.
func (m *Manager) Versions(ctx context.Context, key string) (out []Version, err error) {
	defer func() { m.audit(ctx, "versions", key, err) }()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	if err := validateKey(key, false); err != nil {
		return nil, err
	}
	h, err := m.history(ctx, key)
	if err != nil {
		return nil, err
	}
	// Cleaning up is a courtesy of this read: its failure is not the
	// caller's, and what stays is hidden (and destroyed by a later call).
	_ = m.destroy(ctx, h.garbage)
	if h.rec == nil {
		return nil, m.notFound(ctx, key)
	}
	by := setter(h.rec)
	if h.current != nil {
		by = h.current.SetBy
	}
	out = append(make([]Version, 0, 1+len(h.kept)), Version{Version: h.rec.Version, CreatedAt: h.rec.RotatedAt, CreatedBy: by, Current: true})
	for _, d := range h.kept {
		out = append(out, Version{Version: d.Version, CreatedAt: d.SetAt, CreatedBy: d.SetBy})
	}
	return out, nil
}

// versionFields are the fields of a version document read to reveal it.
var versionFields = []docstore.FieldPath{"ID", "SecretKey", "CreatedAt", "Version", "Sealed"}

// RevealVersion returns the value of one version of a secret, current or
// kept. A version that was pruned, or never existed, gives ErrNotFound, and so
// does a version of an earlier secret of the same key, deleted and created
// again. It costs one store round trip where the driver batches reads (the
// record and the version document are read in one action list) and one
// AES-GCM open; no keeper call once the keyring is loaded.
func (m *Manager) RevealVersion(ctx context.Context, key string, version int) (v Value, err error) {
	defer func() { m.audit(ctx, "reveal_version", key, err, slog.Int("version", version)) }()
	if err := m.check(ctx); err != nil {
		return "", err
	}
	if err := validateKey(key, false); err != nil {
		return "", err
	}
	rec := m.record(key)
	doc := m.versionRecord(key, max(version, 1))
	reads := m.shared.coll.Actions().Get(rec, "ID", "CreatedAt", "Version", "Sealed")
	if version >= 1 {
		reads.Get(doc, versionFields...)
	}
	docFound := version >= 1
	if err := reads.Do(ctx); err != nil {
		var errs docstore.ActionListError
		if !errors.As(err, &errs) {
			return "", storeError("read", err)
		}
		for _, e := range errs {
			switch {
			case !layout.IsNotFound(e.Err):
				return "", storeError("read", e.Err)
			case e.Index == 0:
				return "", m.notFound(ctx, key)
			default:
				docFound = false
			}
		}
	}
	sealed := rec.Sealed
	if version != rec.Version {
		if !docFound || !m.keeps(rec, doc, version) {
			return "", m.noVersion(key, version)
		}
		sealed = doc.Sealed
	}
	plain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), sealed)
	if err != nil {
		return "", fmt.Errorf("secret %q in %s, version %d: %w", key, m.where(), version, keyringError(err))
	}
	return Value(plain), nil
}

// keeps reports whether doc, read as version of rec's secret, is a kept
// version of it: an earlier version within the last MaxVersions, of this
// secret and not of an earlier one of the same key.
func (m *Manager) keeps(rec *layout.Record, doc *layout.VersionRecord, version int) bool {
	return version < rec.Version && version > rec.Version-m.opts.MaxVersions &&
		doc.Version == version && doc.SecretKey == rec.Key && doc.CreatedAt.Equal(rec.CreatedAt)
}

func (m *Manager) noVersion(key string, version int) error {
	return fmt.Errorf("%w: %q in %s has no version %d", ErrNotFound, key, m.where(), version)
}

// Rollback makes the value of an earlier version of a secret its current
// value again, as a new version: rolling version 3 of a secret at version 5
// back makes version 6, with version 3's value. It is a value change like
// Update's (revision-checked, retried, the replaced value kept as a
// version); the description stays. Rolling back to the current version
// gives ErrNoChanges; to a version pruned or never made, ErrNotFound. The
// audit event's op is "rollback".
func (m *Manager) Rollback(ctx context.Context, key string, version int) (sec Secret, err error) {
	defer func() { m.audit(ctx, "rollback", key, err, slog.Int("version", version)) }()
	if err := m.check(ctx); err != nil {
		return Secret{}, err
	}
	if err := validateKey(key, false); err != nil {
		return Secret{}, err
	}
	return m.rewrite(ctx, key, 0, func(ctx context.Context, rec *layout.Record) (edit, error) {
		if version == rec.Version {
			return edit{}, fmt.Errorf("%w: version %d is the current version of %q in %s", ErrNoChanges, version, key, m.where())
		}
		if version < 1 || version > rec.Version || version <= rec.Version-m.opts.MaxVersions {
			return edit{}, m.noVersion(key, version)
		}
		doc := m.versionRecord(key, version)
		err := m.shared.coll.Get(ctx, doc, versionFields...)
		if layout.IsNotFound(err) {
			return edit{}, m.noVersion(key, version)
		}
		if err != nil {
			return edit{}, storeError("read", err)
		}
		if !m.keeps(rec, doc, version) {
			return edit{}, m.noVersion(key, version)
		}
		plain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), doc.Sealed)
		if err != nil {
			return edit{}, fmt.Errorf("secret %q in %s, version %d: %w", key, m.where(), version, keyringError(err))
		}
		return edit{value: plain}, nil
	})
}
