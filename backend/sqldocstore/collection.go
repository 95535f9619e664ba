package sqldocstore

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
)

// Options are optional arguments to OpenCollection; nil means defaults.
type Options struct {
	// RevisionField is the name of the document field holding the revision.
	// "" means docstore.DefaultRevisionField.
	RevisionField string

	// Indexes lists indexes to create with the table, each a list of
	// top-level field names. A query whose filters are equalities on the
	// leading fields and a range on the next, ordered by that next field,
	// reads such an index in order. Strings compare bytewise.
	Indexes [][]string
}

type collection struct {
	db       *sql.DB
	d        Dialect
	table    string
	keyField string
	keyFunc  func(docstore.Document) any
	revField string
	ownsDB   bool
	stmts    stmtCache       // for actions outside transactions, and queries
	indexed  map[string]bool // the top-level fields Options.Indexes index

	// On SQLite, writers of this process queue on wlock (shared by every
	// collection of the process on the same file) before they write; see
	// writelock.go. nil on PostgreSQL.
	wlock        *writeLock
	releaseWlock func()
}

// OpenCollection opens the collection stored in table (created, with its
// indexes, when missing) of db. keyField is the document field holding the
// key; its values must be strings. The caller keeps ownership of db.
//
// For SQLite, open db with OpenSQLite (or with the same settings) so that
// every write is durable when it returns and several processes can share
// the file.
func OpenCollection(ctx context.Context, db *sql.DB, dialect Dialect, table, keyField string, opts *Options) (*docstore.Collection, error) {
	if keyField == "" {
		return nil, newError(gcerrors.InvalidArgument, nil, "key field is required")
	}
	c, err := newCollection(ctx, db, dialect, table, keyField, nil, opts)
	if err != nil {
		return nil, err
	}
	return docstore.NewCollection(c), nil
}

// OpenCollectionWithKeyFunc is like OpenCollection, but keyFunc computes
// each document's key (a non-empty string) from the document, which may be
// a struct pointer or a map[string]any. Create cannot invent a key for such
// a collection.
func OpenCollectionWithKeyFunc(ctx context.Context, db *sql.DB, dialect Dialect, table string, keyFunc func(docstore.Document) any, opts *Options) (*docstore.Collection, error) {
	if keyFunc == nil {
		return nil, newError(gcerrors.InvalidArgument, nil, "key function is required")
	}
	c, err := newCollection(ctx, db, dialect, table, "", keyFunc, opts)
	if err != nil {
		return nil, err
	}
	return docstore.NewCollection(c), nil
}

func newCollection(ctx context.Context, db *sql.DB, d Dialect, table, keyField string, keyFunc func(docstore.Document) any, opts *Options) (*collection, error) {
	if db == nil {
		return nil, newError(gcerrors.InvalidArgument, nil, "nil *sql.DB")
	}
	if d != SQLite && d != PostgreSQL {
		return nil, newError(gcerrors.InvalidArgument, nil, "unknown dialect %v", d)
	}
	if !identRE.MatchString(table) {
		return nil, newError(gcerrors.InvalidArgument, nil, "table name %q must be 1 to 63 letters, digits or underscores, not starting with a digit", table)
	}
	if opts == nil {
		opts = &Options{}
	}
	c := &collection{db: db, d: d, table: table, keyField: keyField, keyFunc: keyFunc, revField: opts.RevisionField}
	c.stmts.db = db
	if c.revField == "" {
		c.revField = docstore.DefaultRevisionField
	}
	stmts := []string{d.createTableSQL(table)}
	for _, ix := range opts.Indexes {
		if len(ix) == 0 {
			return nil, newError(gcerrors.InvalidArgument, nil, "empty index")
		}
		for _, f := range ix {
			if f == "" || !plainString(f) || !d.pathOK([]string{escapeKey(f)}) {
				return nil, newError(gcerrors.InvalidArgument, nil, "cannot index field %q", f)
			}
		}
		stmts = append(stmts, d.createIndexSQL(table, ix))
		for _, f := range ix {
			if c.indexed == nil {
				c.indexed = map[string]bool{}
			}
			c.indexed[f] = true
		}
	}
	if d == SQLite {
		l, release, err := acquireWriteLock(ctx, db)
		if err != nil {
			return nil, err
		}
		c.wlock, c.releaseWlock = l, release
	}
	if err := c.createSchema(ctx, stmts); err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

// lockWrites waits for this process's turn to write (SQLite only) and
// returns the function that ends it.
func (c *collection) lockWrites(ctx context.Context) (func(), error) {
	if c.wlock == nil {
		return func() {}, nil
	}
	if err := c.wlock.lock(ctx); err != nil {
		return nil, err
	}
	return c.wlock.unlock, nil
}

func (c *collection) release() {
	if c.releaseWlock != nil {
		c.releaseWlock()
	}
}

// createSchema runs the CREATE statements in one transaction. On
// PostgreSQL two processes creating the same table at once can collide in
// the catalog even with IF NOT EXISTS, so an advisory lock serializes them.
func (c *collection) createSchema(ctx context.Context, stmts []string) error {
	return c.inTx(ctx, func(q querier) error {
		if c.d == PostgreSQL {
			if _, err := q.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "sqldocstore:"+c.table); err != nil {
				return err
			}
		}
		for _, s := range stmts {
			if _, err := q.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
}

// querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// inTx runs f in a write transaction and commits when f returns nil. On
// SQLite it first waits for this process's turn to write, and the
// transaction starts with BEGIN IMMEDIATE, taking the write lock up front: a
// deferred transaction that read first and then wrote could fail with
// SQLITE_BUSY at once when another process had written in between, without
// waiting out the busy timeout.
func (c *collection) inTx(ctx context.Context, f func(querier) error) (err error) {
	unlock, err := c.lockWrites(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if c.d == PostgreSQL {
		tx, err := c.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := f(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	}
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := f(conn); err != nil {
		// Roll back even when ctx is done, so the connection goes back to
		// the pool without a transaction open.
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		return err
	}
	return nil
}

// Key implements driver.Collection.Key. Keys are strings that both
// dialects can store as text: valid UTF-8 without NUL bytes.
func (c *collection) Key(doc driver.Document) (any, error) {
	var k any
	if c.keyField != "" {
		k, _ = doc.GetField(c.keyField) // a missing key is nil; Create makes one
		if k == nil {
			return nil, nil
		}
	} else {
		k = c.keyFunc(doc.Origin)
		if k == nil || driver.IsEmptyValue(reflect.ValueOf(k)) {
			return nil, newError(gcerrors.InvalidArgument, nil, "missing document key")
		}
	}
	s, ok := k.(string)
	if !ok {
		return nil, newError(gcerrors.InvalidArgument, nil, "document key is a %T, not a string", k)
	}
	if !plainString(s) {
		return nil, newError(gcerrors.InvalidArgument, nil, "document key is not valid UTF-8 or holds a NUL byte")
	}
	return s, nil
}

// RevisionField implements driver.Collection.RevisionField.
func (c *collection) RevisionField() string { return c.revField }

// RevisionToBytes implements driver.Collection.RevisionToBytes.
func (c *collection) RevisionToBytes(rev any) ([]byte, error) {
	r, ok := rev.(int64)
	if !ok {
		return nil, newError(gcerrors.InvalidArgument, nil, "revision of type %T is not an int64", rev)
	}
	return strconv.AppendInt(nil, r, 10), nil
}

// BytesToRevision implements driver.Collection.BytesToRevision.
func (c *collection) BytesToRevision(b []byte) (any, error) {
	r, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || !utf8.Valid(b) {
		return nil, newError(gcerrors.InvalidArgument, nil, "malformed revision")
	}
	return r, nil
}

// As implements driver.Collection.As: a **sql.DB receives the database.
func (c *collection) As(i any) bool {
	p, ok := i.(**sql.DB)
	if !ok {
		return false
	}
	*p = c.db
	return true
}

// ErrorAs implements driver.Collection.ErrorAs: *sqlite.Error and
// *pgconn.PgError are available through it.
func (c *collection) ErrorAs(err error, i any) bool { return errors.As(err, i) }

// ErrorCode implements driver.Collection.ErrorCode.
func (c *collection) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close implements driver.Collection.Close. It closes the database only
// when the collection opened it (from a URL).
func (c *collection) Close() error {
	c.stmts.close()
	c.release()
	if c.ownsDB {
		return c.db.Close()
	}
	return nil
}

// newRevision returns a fresh revision. Revisions are random, not counted,
// so a document deleted and created again never reuses a revision that a
// stale copy might still hold.
func newRevision() int64 { return rand.Int64N(1<<63-1) + 1 }

// wantRevision returns the revision the caller's document holds, or nil.
func (c *collection) wantRevision(doc driver.Document) (any, error) {
	r, err := doc.GetField(c.revField)
	if err != nil || r == nil {
		return nil, nil
	}
	rev, ok := r.(int64)
	if !ok {
		return nil, newError(gcerrors.InvalidArgument, nil, "revision field %s holds a %T, not an int64", c.revField, r)
	}
	return rev, nil
}

// RunActions implements driver.Collection.RunActions. Actions on distinct
// keys run one after another in the order driver.GroupActions gives: gets
// that must see the old state, other gets, writes, the atomic writes in one
// transaction, then gets that must see the writes.
func (c *collection) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	errs := make([]error, len(actions))
	if opts.BeforeDo != nil {
		if err := opts.BeforeDo(func(any) bool { return false }); err != nil {
			for i := range errs {
				errs[i] = err
			}
			return driver.NewActionListError(errs)
		}
	}
	beforeGets, gets, writes, writesTx, afterGets := driver.GroupActions(actions)
	run := func(as []*driver.Action) {
		for _, a := range as {
			if err := ctx.Err(); err != nil {
				errs[a.Index] = err
				continue
			}
			errs[a.Index] = c.runAction(ctx, &c.stmts, a)
		}
	}
	run(beforeGets)
	run(gets)
	for _, a := range writes {
		if err := ctx.Err(); err != nil {
			errs[a.Index] = err
			continue
		}
		errs[a.Index] = c.runWrite(ctx, a)
	}
	if len(writesTx) > 0 {
		err := c.inTx(ctx, func(q querier) error {
			for _, a := range writesTx {
				if err := c.runAction(ctx, q, a); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			for _, a := range writesTx {
				errs[a.Index] = err
			}
		}
	}
	run(afterGets)
	return driver.NewActionListError(errs)
}

// runWrite runs one write action outside a transaction, in this process's
// turn to write.
func (c *collection) runWrite(ctx context.Context, a *driver.Action) error {
	unlock, err := c.lockWrites(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	return c.runAction(ctx, &c.stmts, a)
}

func (c *collection) runAction(ctx context.Context, q querier, a *driver.Action) error {
	switch a.Kind {
	case driver.Get:
		return c.get(ctx, q, a)
	case driver.Create, driver.Put, driver.Replace:
		return c.write(ctx, q, a)
	case driver.Delete:
		return c.delete(ctx, q, a)
	case driver.Update:
		return c.update(ctx, q, a)
	}
	return newError(gcerrors.Internal, nil, "unknown action kind %v", a.Kind)
}

func (c *collection) get(ctx context.Context, q querier, a *driver.Action) error {
	var b sqlBuilder
	b.d = c.d
	sel := newSelection(c, a.FieldPaths, false)
	b.w("SELECT ", colRev)
	sel.columns(&b)
	b.w(" FROM ", quoteIdent(c.table), " WHERE ", colID, " = ", b.arg(a.Key))
	rows, err := q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return newError(gcerrors.NotFound, nil, "document %q not found", a.Key)
	}
	r, err := sel.scan(rows)
	if err != nil {
		return err
	}
	if err := rows.Close(); err != nil {
		return err
	}
	return sel.decode(r, a.Doc)
}

// write stores a Create, Put or Replace. The revision check is part of the
// statement that writes, so no other writer can slip in between.
func (c *collection) write(ctx context.Context, q querier, a *driver.Action) error {
	key := a.Key
	if a.Kind == driver.Create && key == nil {
		if c.keyField == "" {
			return newError(gcerrors.InvalidArgument, nil, "missing document key")
		}
		key = driver.UniqueString()
		if err := a.Doc.SetField(c.keyField, key); err != nil {
			return newError(gcerrors.InvalidArgument, err, "cannot set key field %q", c.keyField)
		}
	}
	want, err := c.wantRevision(a.Doc)
	if err != nil {
		return err
	}
	m, err := encodeDoc(a.Doc, c.revField)
	if err != nil {
		return err
	}
	text, err := marshalDoc(m)
	if err != nil {
		return err
	}
	var rev any // NULL: the document has no revision field
	var newRev int64
	if a.Doc.HasField(c.revField) {
		newRev = newRevision()
		rev = newRev
	}
	b := sqlBuilder{d: c.d}
	t := quoteIdent(c.table)
	switch a.Kind {
	case driver.Create:
		b.w("INSERT INTO ", t, " (", colID, ", ", colRev, ", ", colDoc, ") VALUES (", b.arg(key), ", ", b.arg(rev), ", ", b.jsonArg(string(text)), ") ON CONFLICT (", colID, ") DO NOTHING")
	case driver.Put:
		b.w("INSERT INTO ", t, " (", colID, ", ", colRev, ", ", colDoc, ") VALUES (", b.arg(key), ", ", b.arg(rev), ", ", b.jsonArg(string(text)), ") ON CONFLICT (", colID, ") DO UPDATE SET ", colRev, " = excluded.", colRev, ", ", colDoc, " = excluded.", colDoc)
	case driver.Replace:
		b.w("UPDATE ", t, " SET ", colRev, " = ", b.arg(rev), ", ", colDoc, " = ", b.jsonArg(string(text)), " WHERE ", colID, " = ", b.arg(key))
		if want != nil {
			b.w(" AND (", colRev, " IS NULL OR ", colRev, " = ", b.arg(want), ")")
		}
	}
	n, err := execCount(ctx, q, &b)
	if err != nil {
		return err
	}
	if n == 0 {
		switch a.Kind {
		case driver.Create:
			return newError(gcerrors.AlreadyExists, nil, "document %q already exists", key)
		case driver.Replace:
			return c.missOrConflict(ctx, q, key, want)
		}
	}
	if rev != nil {
		if err := a.Doc.SetField(c.revField, newRev); err != nil {
			return newError(gcerrors.InvalidArgument, err, "cannot set revision field %q", c.revField)
		}
	}
	return nil
}

func execCount(ctx context.Context, q querier, b *sqlBuilder) (int64, error) {
	res, err := q.ExecContext(ctx, b.String(), b.args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// missOrConflict explains why a revision-checked write changed no row.
func (c *collection) missOrConflict(ctx context.Context, q querier, key, want any) error {
	b := sqlBuilder{d: c.d}
	b.w("SELECT 1 FROM ", quoteIdent(c.table), " WHERE ", colID, " = ", b.arg(key))
	var one int
	err := q.QueryRowContext(ctx, b.String(), b.args...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return newError(gcerrors.NotFound, nil, "document %q not found", key)
	case err != nil:
		return err
	case want != nil:
		return newError(gcerrors.FailedPrecondition, nil, "document %q has changed: revision %v is stale", key, want)
	}
	// Changed under us (an Update's optimistic write); the caller retries.
	return errChanged
}

var errChanged = newError(gcerrors.FailedPrecondition, nil, "document changed during the update")

func (c *collection) delete(ctx context.Context, q querier, a *driver.Action) error {
	want, err := c.wantRevision(a.Doc)
	if err != nil {
		return err
	}
	b := sqlBuilder{d: c.d}
	b.w("DELETE FROM ", quoteIdent(c.table), " WHERE ", colID, " = ", b.arg(a.Key))
	if want != nil {
		b.w(" AND (", colRev, " IS NULL OR ", colRev, " = ", b.arg(want), ")")
	}
	n, err := execCount(ctx, q, &b)
	if err != nil || n > 0 || want == nil {
		return err
	}
	// Deleting a missing document is not an error; a stale revision is.
	err = c.missOrConflict(ctx, q, a.Key, want)
	if errorCode(err) == gcerrors.NotFound {
		return nil
	}
	return err
}

// update applies mods: it reads the document, changes it in Go and writes
// it back only if the stored revision (or, without one, the stored text)
// is still the one read, retrying when another writer got in between.
func (c *collection) update(ctx context.Context, q querier, a *driver.Action) error {
	want, err := c.wantRevision(a.Doc)
	if err != nil {
		return err
	}
	// Encode the mods first: a bad mod must change nothing.
	mods := make([]encodedMod, len(a.Mods))
	for i, m := range a.Mods {
		if c.keyField != "" && m.FieldPath[0] == c.keyField {
			// The id column would no longer match the document.
			return newError(gcerrors.InvalidArgument, nil, "Update cannot change the key field %q", c.keyField)
		}
		mods[i].path = m.FieldPath
		if inc, ok := m.Value.(driver.IncOp); ok {
			v, err := encodeValue(inc.Amount)
			if err != nil {
				return err
			}
			mods[i].val, mods[i].inc = v, true
		} else if m.Value != nil {
			v, err := encodeValue(m.Value)
			if err != nil {
				return err
			}
			mods[i].val = v
		}
	}
	t := quoteIdent(c.table)
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := sqlBuilder{d: c.d}
		b.w("SELECT ", colRev, ", ", colDoc, " FROM ", t, " WHERE ", colID, " = ", b.arg(a.Key))
		if _, isTx := q.(*sql.Tx); isTx && c.d == PostgreSQL {
			b.w(" FOR UPDATE")
		}
		var rev sql.NullInt64
		var text string
		err := q.QueryRowContext(ctx, b.String(), b.args...).Scan(&rev, &text)
		if errors.Is(err, sql.ErrNoRows) {
			return newError(gcerrors.NotFound, nil, "document %q not found", a.Key)
		}
		if err != nil {
			return err
		}
		if want != nil && rev.Valid && rev.Int64 != want.(int64) {
			return newError(gcerrors.FailedPrecondition, nil, "document %q has changed: revision %v is stale", a.Key, want)
		}
		m, err := parseDoc([]byte(text))
		if err != nil {
			return err
		}
		if err := applyMods(m, mods, c.revField); err != nil {
			return err
		}
		if c.keyFunc != nil && c.keyFunc(m) != a.Key {
			return newError(gcerrors.InvalidArgument, nil, "Update cannot change the fields the key is made of")
		}
		newText, err := marshalDoc(m)
		if err != nil {
			return err
		}
		var newRev any
		if rev.Valid || a.Doc.HasField(c.revField) {
			newRev = newRevision()
		}
		u := sqlBuilder{d: c.d}
		u.w("UPDATE ", t, " SET ", colRev, " = ", u.arg(newRev), ", ", colDoc, " = ", u.jsonArg(string(newText)), " WHERE ", colID, " = ", u.arg(a.Key))
		if rev.Valid {
			u.w(" AND ", colRev, " = ", u.arg(rev.Int64))
		} else {
			u.w(" AND ", colRev, " IS NULL AND ", colDoc, " = ", u.jsonArg(text))
		}
		n, err := execCount(ctx, q, &u)
		if err != nil {
			return err
		}
		if n == 1 {
			if newRev != nil && a.Doc.HasField(c.revField) {
				if err := a.Doc.SetField(c.revField, newRev); err != nil {
					return newError(gcerrors.InvalidArgument, err, "cannot set revision field %q", c.revField)
				}
			}
			return nil
		}
		if want != nil {
			// Someone wrote since our read; our revision is stale now.
			return c.missOrConflict(ctx, q, a.Key, want)
		}
		if attempt >= 100 {
			return newError(gcerrors.ResourceExhausted, nil, "document %q keeps changing; update gave up", a.Key)
		}
	}
}

type encodedMod struct {
	path []string
	val  any // nil: delete the field
	inc  bool
}

// applyMods changes the tree; it checks every mod before changing anything,
// so a failing mod leaves the document as it was.
func applyMods(m map[string]any, mods []encodedMod, revField string) error {
	type step struct {
		parent map[string]any
		key    string
		val    any
	}
	steps := make([]step, 0, len(mods))
	for _, mod := range mods {
		if len(mod.path) == 1 && mod.path[0] == revField {
			continue
		}
		// Find the parent map, noting which intermediate maps are missing.
		parent := m
		missing := -1
		for i, k := range mod.path[:len(mod.path)-1] {
			next, ok := parent[k]
			if !ok || next == nil {
				missing = i
				break
			}
			nm, ok := next.(map[string]any)
			if !ok {
				return newError(gcerrors.InvalidArgument, nil, "field path %q goes through a non-map value", strings.Join(mod.path, "."))
			}
			parent = nm
		}
		key := mod.path[len(mod.path)-1]
		val := mod.val
		if missing >= 0 {
			if val == nil {
				continue // deleting under a missing map: nothing to do
			}
			// Build the missing maps now; they are new, so this cannot fail.
			for _, k := range mod.path[missing : len(mod.path)-1] {
				nm := map[string]any{}
				parent[k] = nm
				parent = nm
			}
		}
		if mod.inc {
			var cur any
			if missing < 0 {
				cur = parent[key]
			}
			sum, err := add(cur, val)
			if err != nil {
				return err
			}
			val = sum
		}
		steps = append(steps, step{parent, key, val})
	}
	for _, s := range steps {
		if s.val == nil {
			delete(s.parent, s.key)
		} else {
			s.parent[s.key] = s.val
		}
	}
	return nil
}

// add returns x+y for an increment: integers stay integers, anything with
// a float becomes a float, and a missing field counts as zero.
func add(x, y any) (any, error) {
	toFloat := func(v any) (float64, bool) {
		switch v := v.(type) {
		case int64:
			return float64(v), true
		case uint64:
			return float64(v), true
		case float64:
			return v, true
		}
		return 0, false
	}
	if x == nil {
		return y, nil
	}
	if xi, ok := x.(int64); ok {
		if yi, ok := y.(int64); ok {
			return xi + yi, nil
		}
	}
	xf, ok1 := toFloat(x)
	yf, ok2 := toFloat(y)
	if !ok1 || !ok2 {
		return nil, newError(gcerrors.InvalidArgument, nil, "cannot increment a %T by a %T", x, y)
	}
	return xf + yf, nil
}
