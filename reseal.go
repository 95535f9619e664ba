package coffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
)

// DefaultResealBatch is the number of records Reseal reads and writes per
// store round trip when ResealOptions.BatchSize is 0.
const DefaultResealBatch = 100

// ResealOptions tune Reseal. nil means the defaults.
type ResealOptions struct {
	// BatchSize is the number of records read, and then written, in one
	// store round trip; 0 means DefaultResealBatch.
	BatchSize int
	// Progress, when set, is called once the records have been counted and
	// after each batch, with the number of records done (re-sealed, found
	// already under the active key, gone or failed) and the total. It runs
	// on Reseal's goroutine; cancelling Reseal's context from it stops
	// Reseal before the next batch.
	Progress func(done, total int)
}

// ResealStats says what one Reseal did.
type ResealStats struct {
	// KeyID is the data key every record is now sealed under.
	KeyID uint32
	// Total is the number of secret records in the collection when Reseal
	// counted them.
	Total int
	// Resealed is the number of records this run sealed again.
	Resealed int
	// Skipped is the number of records already under the active key: sealed
	// by an earlier, interrupted run or written since the rotation.
	Skipped int
	// Gone is the number of records deleted while Reseal ran.
	Gone int
	// Retried is the number of records written by someone else between
	// Reseal's read and its write; each was read again and re-sealed.
	Retried int
	// Failed is the number of records whose value could not be opened; they
	// are left as they are and Reseal returns an ErrDecrypt naming them.
	Failed int
}

// maxNamedFailures bounds how many record IDs Reseal's error names.
const maxNamedFailures = 10

// resealBeforeWrite, when set, runs between a batch's read and its write; a
// test uses it to write a record in that window.
var resealBeforeWrite func()

// Reseal seals every secret of the collection — every project and
// environment, not only the Manager's — under the active data key, so that
// data keys older than a RotateDataKey no longer protect anything.
//
// It first reads the keyring document afresh (whatever the Manager's copy),
// then lists the records (for DynamoDB, a scan), then reads and writes them
// in batches of ResealOptions.BatchSize. Each write is checked against the
// record's revision: a record changed by a concurrent Update is read again
// and re-sealed, so no change is lost. Each value is opened for its own
// place and sealed again for it; the plaintext exists only in memory.
//
// Reseal is resumable: records already under the active key are skipped
// without being opened, so after an interruption (a cancelled context, a
// crash) running it again finishes the job. A record whose value cannot be
// opened is left untouched and counted in ResealStats.Failed; Reseal carries
// on and returns an ErrDecrypt naming such records.
//
// Managers of other processes seal under the key that was active when they
// last read the keyring, which is at most crypto.RefreshInterval old: run
// Reseal at least that long after RotateDataKey (or run it twice) for no
// record to be left under an older key.
func (m *Manager) Reseal(ctx context.Context, opts *ResealOptions) (stats ResealStats, err error) {
	defer func() { m.audit(ctx, "reseal", "", err) }()
	defer func() { err = keyringError(err) }()
	if err := m.check(ctx); err != nil {
		return ResealStats{}, err
	}
	var o ResealOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.BatchSize == 0:
		o.BatchSize = DefaultResealBatch
	case o.BatchSize < 0:
		return ResealStats{}, fmt.Errorf("%w: ResealOptions.BatchSize is %d; use 0 for the default or a positive size", ErrInvalidOptions, o.BatchSize)
	}
	progress := func(done, total int) {
		if o.Progress != nil {
			o.Progress(done, max(done, total))
		}
	}
	kr := m.shared.keyring
	if err := kr.Load(ctx); err != nil {
		return ResealStats{}, err
	}
	if stats.KeyID, err = kr.ActiveKeyID(ctx); err != nil {
		return ResealStats{}, err
	}
	r := resealer{m: m, stats: &stats}
	todo, err := r.plan(ctx)
	if err != nil {
		return stats, err
	}
	done := stats.Total - len(todo)
	progress(done, stats.Total)
	for len(todo) > 0 {
		if err := m.check(ctx); err != nil {
			return stats, err
		}
		n := min(o.BatchSize, len(todo))
		if err := r.batch(ctx, todo[:n]); err != nil {
			return stats, err
		}
		todo = todo[n:]
		done += n
		progress(done, stats.Total)
	}
	return stats, r.failure()
}

// resealer is the state of one Reseal.
type resealer struct {
	m      *Manager
	stats  *ResealStats
	failed []string // IDs of records that could not be opened
}

// plan lists the secret records and returns those not sealed under the
// active key, with only their key fields set. It reads just the fields
// needed to tell (the envelope's header is in Sealed), and closes its
// iterator before any write, which some stores need.
func (r *resealer) plan(ctx context.Context) ([]*layout.Record, error) {
	active := r.stats.KeyID
	it := r.m.shared.coll.Query().Get(ctx, "ID", "Scope", "Project", "Environment", "Key", "Sealed")
	defer it.Stop()
	var todo []*layout.Record
	for {
		rec := &layout.Record{}
		err := it.Next(ctx, rec)
		if err == io.EOF {
			return todo, nil
		}
		if err != nil {
			return nil, storeError("reseal: list", err)
		}
		if rec.Scope == layout.KeyringScope {
			continue
		}
		r.stats.Total++
		if !consistent(rec) {
			r.fail(rec.ID)
			continue
		}
		env, err := crypto.Parse(rec.Sealed)
		switch {
		case err != nil:
			r.fail(rec.ID)
		case env.KeyID == active:
			r.stats.Skipped++
		default:
			todo = append(todo, &layout.Record{ID: rec.ID, Scope: rec.Scope, Key: rec.Key})
		}
	}
}

// consistent reports whether a record's ID and Scope agree with its Project,
// Environment and Key, the place its value is opened for.
func consistent(rec *layout.Record) bool {
	return rec.ID == layout.ID(rec.Project, rec.Environment, rec.Key) &&
		rec.Scope == layout.Scope(rec.Project, rec.Environment)
}

// batch re-seals the records of keys (key fields only): one store round trip
// to read them, one to write those that need it.
func (r *resealer) batch(ctx context.Context, keys []*layout.Record) error {
	coll := r.m.shared.coll
	recs := make([]*layout.Record, len(keys))
	reads := coll.Actions()
	for i, k := range keys {
		recs[i] = &layout.Record{ID: k.ID, Scope: k.Scope, Key: k.Key}
		reads.Get(recs[i])
	}
	gone := map[int]bool{}
	if err := reads.Do(ctx); err != nil {
		var errs docstore.ActionListError
		if !errors.As(err, &errs) {
			return storeError("reseal: read", err)
		}
		for _, e := range errs {
			if !layout.IsNotFound(e.Err) {
				return storeError("reseal: read", e.Err)
			}
			gone[e.Index] = true
		}
	}
	writes := coll.Actions()
	var written []*layout.Record
	for i, rec := range recs {
		if gone[i] {
			r.stats.Gone++
			continue
		}
		changed, err := r.reseal(ctx, rec)
		if err != nil {
			return err
		}
		if changed {
			writes.Replace(rec)
			written = append(written, rec)
		}
	}
	if len(written) == 0 {
		return nil
	}
	if resealBeforeWrite != nil {
		resealBeforeWrite()
	}
	conflicted := map[int]bool{}
	if err := writes.Do(ctx); err != nil {
		var errs docstore.ActionListError
		if !errors.As(err, &errs) {
			return storeError("reseal: write", err)
		}
		for _, e := range errs {
			if !layout.IsConflict(e.Err) {
				return storeError("reseal: write", e.Err)
			}
			conflicted[e.Index] = true
		}
	}
	for i, rec := range written {
		if !conflicted[i] {
			r.stats.Resealed++
			continue
		}
		r.stats.Retried++
		if err := r.one(ctx, rec.ID, rec.Scope, rec.Key); err != nil {
			return err
		}
	}
	return nil
}

// reseal re-seals rec's value in place and says whether it changed. A value
// that cannot be opened is counted as failed, not returned as an error.
func (r *resealer) reseal(ctx context.Context, rec *layout.Record) (bool, error) {
	if !consistent(rec) {
		r.fail(rec.ID)
		return false, nil
	}
	p := crypto.Place{Project: rec.Project, Environment: rec.Environment, Key: rec.Key, CreatedAt: rec.CreatedAt}
	sealed, changed, err := r.m.shared.keyring.Reseal(ctx, p, rec.Sealed)
	switch {
	case errors.Is(err, crypto.ErrDecrypt):
		r.fail(rec.ID)
		return false, nil
	case err != nil:
		return false, err
	case !changed:
		r.stats.Skipped++
		return false, nil
	}
	rec.Sealed = sealed
	return true, nil
}

// one re-seals a single record that changed under a batch write: read it
// again, re-seal, write under the new revision, until the write lands.
func (r *resealer) one(ctx context.Context, id, scope, key string) error {
	coll := r.m.shared.coll
	for range maxAttempts {
		rec := &layout.Record{ID: id, Scope: scope, Key: key}
		err := coll.Get(ctx, rec)
		if layout.IsNotFound(err) {
			r.stats.Gone++
			return nil
		}
		if err != nil {
			return storeError("reseal: read", err)
		}
		changed, err := r.reseal(ctx, rec)
		if err != nil || !changed {
			return err
		}
		err = coll.Replace(ctx, rec)
		if err == nil {
			r.stats.Resealed++
			return nil
		}
		if !layout.IsConflict(err) {
			return storeError("reseal: write", err)
		}
	}
	return fmt.Errorf("%w: record %q kept changing during Reseal; run Reseal again", ErrConflict, id)
}

func (r *resealer) fail(id string) {
	r.stats.Failed++
	if len(r.failed) < maxNamedFailures {
		r.failed = append(r.failed, id)
	}
}

// failure reports the records that could not be opened, if any.
func (r *resealer) failure() error {
	if r.stats.Failed == 0 {
		return nil
	}
	more := ""
	if r.stats.Failed > len(r.failed) {
		more = fmt.Sprintf(" and %d more", r.stats.Failed-len(r.failed))
	}
	return fmt.Errorf("%w: reseal left %d records as they were, their values could not be opened: %s%s",
		ErrDecrypt, r.stats.Failed, strings.Join(r.failed, ", "), more)
}
