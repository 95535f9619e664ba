package sqldocstore

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"gocloud.dev/docstore"
	"gocloud.dev/gcerrors"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// SQLite settings, applied to every connection OpenSQLite makes:
//
//   - journal_mode=WAL: readers never block the writer and the writer never
//     blocks readers, across processes too.
//   - synchronous=FULL: a commit returns only after the operating system
//     has been asked to flush the write-ahead log to disk (fsync), so a
//     write that returned nil survives a crash or power cut as far as the
//     disk honours the flush. NORMAL would be faster but may lose the last
//     commits on power loss.
//   - busy_timeout=10000: a writer waits up to 10 s for another process's
//     write transaction instead of failing with "database is locked"
//     (writers of one process queue in the driver instead; writelock.go).
//   - _txlock=immediate: transactions take the write lock when they begin,
//     so a transaction never has to upgrade a read lock, which SQLite
//     refuses at once (SQLITE_BUSY) when another writer got in first.
const sqliteParams = "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"

// OpenSQLite opens the SQLite database file at path with the settings
// this package relies on (see the package documentation). The file is
// created if missing.
func OpenSQLite(path string) (*sql.DB, error) {
	if path == "" || strings.ContainsRune(path, 0) {
		return nil, newError(gcerrors.InvalidArgument, nil, "invalid SQLite file path")
	}
	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: sqliteParams}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	// Opening a connection applies the pragmas; do it now so a file that
	// cannot be opened fails here rather than at the first query.
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, newError(gcerrors.Unknown, err, "open SQLite database")
	}
	return db, nil
}

// Scheme names registered with docstore's default URL mux.
const (
	SQLiteScheme     = "sqlite"
	PostgresScheme   = "postgres"
	PostgreSQLScheme = "postgresql"
)

func init() {
	o := &URLOpener{}
	for _, s := range []string{SQLiteScheme, PostgresScheme, PostgreSQLScheme} {
		docstore.DefaultURLMux().RegisterCollection(s, o)
	}
}

// URLOpener opens collections from sqlite://, postgres:// and
// postgresql:// URLs (see the package documentation for the format). Each
// collection opens its own connection pool and closes it on Close.
type URLOpener struct {
	// Options are used for every collection; the URL's revision_field and
	// index parameters add to or override them.
	Options Options
}

// coffer's own query parameters; everything else goes to the database.
var ownParams = []string{"table", "key_field", "revision_field", "index"}

// OpenCollectionURL implements docstore.CollectionURLOpener. Its errors
// never quote the URL, which may hold a password.
func (o *URLOpener) OpenCollectionURL(ctx context.Context, u *url.URL) (*docstore.Collection, error) {
	q := u.Query()
	table, keyField := q.Get("table"), q.Get("key_field")
	if table == "" || keyField == "" {
		return nil, newError(gcerrors.InvalidArgument, nil, "%s URL: the table and key_field parameters are required", u.Scheme)
	}
	opts := o.Options
	opts.Indexes = slicesClone(opts.Indexes)
	if rf := q.Get("revision_field"); rf != "" {
		opts.RevisionField = rf
	}
	for _, ix := range q["index"] {
		opts.Indexes = append(opts.Indexes, strings.Split(ix, ","))
	}
	for _, p := range ownParams {
		q.Del(p)
	}
	var (
		db      *sql.DB
		dialect Dialect
		err     error
	)
	switch u.Scheme {
	case SQLiteScheme:
		if len(q) > 0 {
			return nil, newError(gcerrors.InvalidArgument, nil, "sqlite URL: unknown parameters")
		}
		// sqlite:///abs/file.db has an empty host; sqlite://rel.db and
		// sqlite://dir/rel.db name a file relative to the working directory.
		path := u.Host + u.Path
		if u.Host == "" && u.Path == "" || u.User != nil || u.Opaque != "" {
			return nil, newError(gcerrors.InvalidArgument, nil, "sqlite URL: want sqlite:///absolute/path.db or sqlite://relative/path.db")
		}
		db, err = OpenSQLite(filepath.FromSlash(path))
		dialect = SQLite
	case PostgresScheme, PostgreSQLScheme:
		dsn := *u
		dsn.RawQuery = q.Encode()
		// Parse here, not inside sql.Open, so a parse error (which quotes
		// the connection string) can be replaced by one that does not.
		cfg, perr := pgx.ParseConfig(dsn.String())
		if perr != nil {
			return nil, newError(gcerrors.InvalidArgument, nil, "%s URL: invalid connection settings", u.Scheme)
		}
		db = stdlib.OpenDB(*cfg)
		dialect = PostgreSQL
	default:
		return nil, newError(gcerrors.InvalidArgument, nil, "unknown scheme %q", u.Scheme)
	}
	if err != nil {
		// Driver errors may quote the connection string: keep only the code.
		return nil, newError(errorCode(err), nil, "%s URL: cannot open the database", u.Scheme)
	}
	c, err := newCollection(ctx, db, dialect, table, keyField, nil, &opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	c.ownsDB = true
	return docstore.NewCollection(c), nil
}

func slicesClone(s [][]string) [][]string { return append([][]string(nil), s...) }
