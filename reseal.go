package coffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
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
	// Total is the number of sealed documents in the collection when
	// Reseal counted them: secret records and kept versions (see Versions).
	// The other counts are of the same documents.
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
// environment, not only the Manager's, and every kept version of each —
// under the active data key, so that data keys older than a RotateDataKey no
// longer protect anything, current or past. Below, a record is any sealed
// document: a secret's record or a kept version.
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

// sealedDoc is one document Reseal handles: a secret's record or a kept
// version (exactly one is set).
type sealedDoc struct {
	rec *layout.Record
	ver *layout.VersionRecord
}

// planned is the shape plan reads every document into: the key fields and
// the envelope of both kinds of sealed documents. The fields only version
// documents use are read as they come, so a record holding anything there
// is not a reason to stop.
type planned struct {
	ID, Scope, Project, Environment, Key string
	SecretKey, Version                   any
	Sealed                               []byte
	DocstoreRevision                     any // some drivers return it with any projection
}

var plannedFields = []docstore.FieldPath{"ID", "Scope", "Project", "Environment", "Key", "SecretKey", "Version", "Sealed"}

// sealedDocOf returns the document p was read from, with the fields that
// place its value set.
func sealedDocOf(p *planned) sealedDoc {
	if layout.IsHistoryScope(p.Scope) {
		// A field of the wrong type stays zero, and the document is then
		// not consistent: it is counted as failed.
		secretKey, _ := p.SecretKey.(string)
		return sealedDoc{ver: &layout.VersionRecord{ID: p.ID, Scope: p.Scope, Key: p.Key, Project: p.Project,
			Environment: p.Environment, SecretKey: secretKey, Version: versionNumber(p.Version)}}
	}
	return sealedDoc{rec: &layout.Record{ID: p.ID, Scope: p.Scope, Key: p.Key, Project: p.Project, Environment: p.Environment}}
}

// versionNumber returns a stored version number as drivers return an
// integer read into an interface (int64, int32, uint64, float64), and 0 for
// anything else.
func versionNumber(v any) int {
	var n int64
	switch v := v.(type) {
	case int64:
		n = v
	case int32:
		n = int64(v)
	case int:
		n = int64(v)
	case uint64:
		n = int64(min(v, math.MaxInt32))
	case float64:
		if v != math.Trunc(v) || v < 0 || v > math.MaxInt32 {
			return 0
		}
		n = int64(v)
	}
	if n < 0 || n > math.MaxInt32 {
		return 0
	}
	return int(n)
}

// doc returns the document, for the store.
func (d sealedDoc) doc() docstore.Document {
	if d.ver != nil {
		return d.ver
	}
	return d.rec
}

func (d sealedDoc) id() string {
	if d.ver != nil {
		return d.ver.ID
	}
	return d.rec.ID
}

func (d sealedDoc) sealed() *[]byte {
	if d.ver != nil {
		return &d.ver.Sealed
	}
	return &d.rec.Sealed
}

// place returns where the value is sealed, and false when the document's
// key fields disagree with it.
func (d sealedDoc) place() (crypto.Place, bool) {
	if v := d.ver; v != nil {
		return crypto.Place{Project: v.Project, Environment: v.Environment, Key: v.SecretKey, CreatedAt: v.CreatedAt}, v.Consistent()
	}
	r := d.rec
	return crypto.Place{Project: r.Project, Environment: r.Environment, Key: r.Key, CreatedAt: r.CreatedAt}, consistent(r)
}

// keysOnly returns a new document of the same kind with only the key
// fields of d set, to read it whole.
func (d sealedDoc) keysOnly() sealedDoc {
	if v := d.ver; v != nil {
		return sealedDoc{ver: &layout.VersionRecord{ID: v.ID, Scope: v.Scope, Key: v.Key}}
	}
	return sealedDoc{rec: &layout.Record{ID: d.rec.ID, Scope: d.rec.Scope, Key: d.rec.Key}}
}

// plan lists the sealed documents — secret records and kept versions — and
// returns those not sealed under the active key, with only their key fields
// set. It reads just the fields needed to tell (the envelope's header is in
// Sealed), and closes its iterator before any write, which some stores
// need.
func (r *resealer) plan(ctx context.Context) ([]sealedDoc, error) {
	active := r.stats.KeyID
	it := r.m.shared.coll.Query().Get(ctx, plannedFields...)
	defer it.Stop()
	var todo []sealedDoc
	for {
		p := &planned{}
		err := it.Next(ctx, p)
		if err == io.EOF {
			return todo, nil
		}
		if err != nil {
			return nil, storeError("reseal: list", err)
		}
		if p.Scope == layout.KeyringScope {
			continue
		}
		r.stats.Total++
		d := sealedDocOf(p)
		if _, ok := d.place(); !ok {
			r.fail(p.ID)
			continue
		}
		env, err := crypto.Parse(p.Sealed)
		switch {
		case err != nil:
			r.fail(p.ID)
		case env.KeyID == active:
			r.stats.Skipped++
		default:
			todo = append(todo, d.keysOnly())
		}
	}
}

// consistent reports whether a record's ID and Scope agree with its Project,
// Environment and Key, the place its value is opened for.
func consistent(rec *layout.Record) bool {
	return rec.ID == layout.ID(rec.Project, rec.Environment, rec.Key) &&
		rec.Scope == layout.Scope(rec.Project, rec.Environment)
}

// batch re-seals the documents of keys (key fields only): one store round
// trip to read them, one to write those that need it.
func (r *resealer) batch(ctx context.Context, keys []sealedDoc) error {
	coll := r.m.shared.coll
	docs := make([]sealedDoc, len(keys))
	reads := coll.Actions()
	for i, k := range keys {
		docs[i] = k.keysOnly()
		reads.Get(docs[i].doc())
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
	var written []sealedDoc
	for i, d := range docs {
		if gone[i] {
			r.stats.Gone++
			continue
		}
		changed, err := r.reseal(ctx, d)
		if err != nil {
			return err
		}
		if changed {
			writes.Replace(d.doc())
			written = append(written, d)
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
	for i, d := range written {
		if !conflicted[i] {
			r.stats.Resealed++
			continue
		}
		r.stats.Retried++
		if err := r.one(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// reseal re-seals d's value in place and says whether it changed. A value
// that cannot be opened is counted as failed, not returned as an error.
func (r *resealer) reseal(ctx context.Context, d sealedDoc) (bool, error) {
	p, ok := d.place()
	if !ok {
		r.fail(d.id())
		return false, nil
	}
	sealed, changed, err := r.m.shared.keyring.Reseal(ctx, p, *d.sealed())
	switch {
	case errors.Is(err, crypto.ErrDecrypt):
		r.fail(d.id())
		return false, nil
	case err != nil:
		return false, err
	case !changed:
		r.stats.Skipped++
		return false, nil
	}
	*d.sealed() = sealed
	return true, nil
}

// one re-seals a single document that changed under a batch write: read it
// again, re-seal, write under the new revision, until the write lands.
func (r *resealer) one(ctx context.Context, key sealedDoc) error {
	coll := r.m.shared.coll
	for range maxAttempts {
		d := key.keysOnly()
		err := coll.Get(ctx, d.doc())
		if layout.IsNotFound(err) {
			r.stats.Gone++
			return nil
		}
		if err != nil {
			return storeError("reseal: read", err)
		}
		changed, err := r.reseal(ctx, d)
		if err != nil || !changed {
			return err
		}
		err = coll.Replace(ctx, d.doc())
		if err == nil {
			r.stats.Resealed++
			return nil
		}
		if !layout.IsConflict(err) {
			return storeError("reseal: write", err)
		}
	}
	return fmt.Errorf("%w: document %q kept changing during Reseal; run Reseal again", ErrConflict, key.id())
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
