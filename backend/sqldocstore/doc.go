// Package sqldocstore is a gocloud.dev/docstore driver over database/sql
// for SQLite (modernc.org/sqlite, no cgo) and PostgreSQL
// (github.com/jackc/pgx/v5/stdlib).
//
// Open a collection with OpenCollection (a key field) or
// OpenCollectionWithKeyFunc (a key computed from the document), or with
// docstore.OpenCollection and a URL.
//
// # Storage
//
// A collection is one table with three columns: id (the key, text), revision
// (an integer, NULL for a document written without a revision field) and
// document (the document as JSON: TEXT checked by json_valid on SQLite,
// jsonb on PostgreSQL). The table is created on first open if missing, with
// the indexes Options.Indexes names.
//
// Documents keep their exact Go values: integers stay int64, floats stay
// float64 (always written with a decimal point), []byte, time.Time (to the
// nanosecond, with its UTC offset), NaN and infinities, and strings that are
// not valid UTF-8 or hold NUL bytes are written as small tagged objects such
// as {"$b": "<base64>"}; a document's own map keys starting with "$" are
// stored with a second "$". Keys must be strings (valid UTF-8, no NUL).
// Times must fall in years 0 to 9999. PostgreSQL stores -0.0 as 0.0.
//
// # Revisions
//
// Every write of a document that has the revision field gives it a new
// random int64 revision. A Replace, Delete or Update carrying a revision
// checks it in the same statement that writes (UPDATE ... WHERE id = ? AND
// revision = ?), so a stale revision fails with FailedPrecondition and
// never overwrites a newer write. Update reads the document, applies the
// mods in Go and writes it back under the same check, retrying by itself
// when another writer got in between and the caller gave no revision.
// Update refuses mods that would change the document's key.
//
// # Actions
//
// Actions run one at a time in the order docstore's driver.GroupActions
// gives. AtomicWrites run in one database transaction: all of them take
// effect or none does. On SQLite that transaction starts with BEGIN
// IMMEDIATE.
//
// # Queries
//
// Filters (=, <, <=, >, >=, in, not-in) on strings, numbers, booleans and
// times, at any field path through maps, become SQL conditions
// (json_extract on SQLite, -> and ->> on PostgreSQL). Each condition also
// checks the JSON type, so a filter never matches a value of another kind,
// and strings compare bytewise as in Go (COLLATE "C" on PostgreSQL). On
// SQLite a string condition judges the type from json_extract's own text
// first (text not starting with "{" or "[" is a string; only other text
// asks json_type), so where SQLite reads that text from an index it never
// parses the document. A
// missing or null field matches no filter, not even not-in. A filter looks
// at the field's own value, never inside arrays. Filters SQL cannot state
// exactly (a string operand that is not valid UTF-8 or holds NUL, an
// integer above math.MaxInt64, a field name holding a backslash or, on
// SQLite, a double quote) run in Go on the fetched documents; then Offset
// and Limit run in Go too. Times compare as instants, whatever their UTC
// offsets. OrderBy runs
// in SQL; values of different kinds sort by kind. Field paths passed to
// Query.Get or Collection.Get are picked out in SQL (one JSON array per
// row), so fields not asked for never leave the database. On SQLite a
// projection onto nothing but the key field and indexed top-level fields
// reads them as columns of their own: the key from the id column, an
// indexed field's json_extract text (from the index, when SQLite reads it)
// and, only for a value that is not a string, its JSON text; so the
// query's plan reads no document text when the index serves it. Query.Plan
// returns the SQL that runs and anything done in Go after it. Queries run
// as prepared statements, kept per collection like those of single
// actions.
//
// A value stored in tagged form (a string that is not valid UTF-8 or holds
// NUL, a NaN or infinite float) is seen only by filters that run in Go; SQL
// filters treat it as an object, so a range filter on strings or numbers
// never returns it, and OrderBy sorts it with objects.
//
// # Indexes
//
// Options.Indexes (or the index URL parameter) creates expression indexes
// on top-level fields: json_extract(document, '$."F"') on SQLite and
// (document->>'F') COLLATE "C" on PostgreSQL, the very expressions queries
// on strings use. With an index on (Scope, Key), the query
// Where("Scope", "=", s).Where("Key", ">", "").OrderBy("Key", asc) reads
// the index in key order without sorting. On SQLite, Get("ID", "Key") of
// that query (with key field ID) runs, with E standing for
// json_extract(document, '$."Key"') and S for json_extract(document,
// '$."Scope"'),
//
//	SELECT revision, id, E, CASE WHEN typeof(E) = 'text' AND substr(E, 1, 1) NOT IN ('{', '[')
//	  THEN NULL ELSE document -> '$."Key"' END FROM "secrets"
//	WHERE (typeof(S) = 'text' AND S = ? AND (substr(S, 1, 1) NOT IN ('{', '[') OR json_type(document, '$."Scope"') = 'text'))
//	AND (typeof(E) = 'text' AND E > ? AND (substr(E, 1, 1) NOT IN ('{', '[') OR json_type(document, '$."Key"') = 'text'))
//	ORDER BY E ASC
//
// SQLite's EXPLAIN QUERY PLAN answers "SEARCH secrets USING INDEX
// secrets_Scope_Key_idx (<expr>=? AND <expr>>?)", with no sort step, and
// SQLite takes S and E from the index: no document is parsed.
//
// # SQLite durability and concurrency
//
// Open SQLite databases with OpenSQLite (URLs do). It sets a WAL journal;
// synchronous=FULL, so a commit returns only after SQLite has had the
// operating system flush the log to disk; a busy_timeout of 10 s, so
// writers from several processes wait for each other instead of failing
// with "database is locked"; and transactions that take the write lock
// when they begin. Writers within one process do not meet the busy timeout
// among themselves: they queue in the driver, in arrival order, for as long
// as their contexts allow (SQLite's busy handler is not fair, and under load
// a writer could lose to the others for the whole timeout). Two processes
// may share one file.
//
// The tests ask live connections for these settings, kill a writing
// process with SIGKILL again and again and find every acknowledged write
// and a sound file each time, and run two processes doing revision-checked
// read-modify-write on the same documents, racing (each reads the other's
// writes and has stale writes refused), with no lost update and no locking
// error. A machine crash (the loss of writes the operating system had not
// yet flushed) is not simulated: surviving one rests on synchronous=FULL,
// which the tests check is set, and on the disk honouring the flush. On
// PostgreSQL, durability is the server's (fsync, synchronous_commit).
//
// # URLs
//
// For docstore.OpenCollection the package registers the schemes "sqlite",
// "postgres" and "postgresql":
//
//	sqlite:///absolute/path/coffer.db?table=secrets&key_field=ID
//	sqlite://relative/path/coffer.db?table=secrets&key_field=ID
//	postgres://user:password@host:5432/dbname?sslmode=disable&table=secrets&key_field=ID
//
// table and key_field are required; revision_field sets the revision field
// and index=Scope,Key (repeatable) adds an index. These parameters are
// removed before the rest of a PostgreSQL URL goes to pgx as its
// connection string. Error messages never quote a URL, which may hold a
// password. A collection opened from a URL owns its connection pool and
// closes it on Close.
//
// # Errors
//
// Errors map to gcerrors codes: NotFound for a missing document,
// AlreadyExists when Create finds one, FailedPrecondition for a stale
// revision, InvalidArgument for bad documents, keys and filters, Internal
// for stored text that is not a document. ErrorAs exposes *sqlite.Error and
// *pgconn.PgError. Errors from opening a collection are returned before a
// docstore.Collection exists, so gcerrors.Code reports them as Unknown;
// their messages say what is wrong.
//
// # Conformance
//
// The package passes gocloud.dev/docstore/drivertest on both dialects with
// no exclusions. Query.Delete and Query.Update do not exist in
// gocloud.dev/docstore v0.47.0, so the driver has no RunDeleteQuery or
// RunUpdateQuery.
package sqldocstore
