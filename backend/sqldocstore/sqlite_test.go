package sqldocstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteSettings is what a connection reports for the pragmas coffer's
// durability and concurrency rest on.
type sqliteSettings struct {
	Synchronous int    // 2 is FULL: a commit waits for the log to be synced
	JournalMode string // wal
	BusyTimeout int    // milliseconds
}

func settingsOf(t *testing.T, conn *sql.Conn) sqliteSettings {
	t.Helper()
	ctx := context.Background()
	var s sqliteSettings
	for _, q := range []struct {
		pragma string
		dest   any
	}{{"synchronous", &s.Synchronous}, {"journal_mode", &s.JournalMode}, {"busy_timeout", &s.BusyTimeout}} {
		if err := conn.QueryRowContext(ctx, "PRAGMA "+q.pragma).Scan(q.dest); err != nil {
			t.Fatalf("PRAGMA %s: %v", q.pragma, err)
		}
	}
	return s
}

// TestOpenSQLiteSettings asks live connections what they run with: every
// connection of a pool from OpenSQLite, or from a sqlite:// URL, has
// synchronous=FULL, a WAL journal and a 10 s busy timeout, and a
// transaction from BeginTx holds the write lock from its start (another
// connection cannot begin writing), which _txlock=immediate promises.
func TestOpenSQLiteSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opened := map[string]func(t *testing.T) *sql.DB{
		"OpenSQLite": func(t *testing.T) *sql.DB {
			db, err := OpenSQLite(filepath.Join(dir, "open.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		},
		"URL": func(t *testing.T) *sql.DB {
			u := "sqlite://" + filepath.ToSlash(filepath.Join(dir, "url.db")) + "?table=t&key_field=ID"
			coll, err := docstore.OpenCollection(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { coll.Close() })
			var db *sql.DB
			if !coll.As(&db) {
				t.Fatal("As(**sql.DB) failed")
			}
			return db
		},
	}
	for name, open := range opened {
		t.Run(name, func(t *testing.T) {
			db := open(t)
			// Three connections at once, so the pool cannot hand back the
			// one it opened first each time.
			var conns []*sql.Conn
			for range 3 {
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conns = append(conns, conn)
			}
			want := sqliteSettings{Synchronous: 2, JournalMode: "wal", BusyTimeout: 10000}
			for i, conn := range conns {
				if diff := cmp.Diff(want, settingsOf(t, conn)); diff != "" {
					t.Errorf("connection %d (-want +got):\n%s", i, diff)
				}
			}
			other := conns[2]
			if _, err := other.ExecContext(ctx, "PRAGMA busy_timeout = 0"); err != nil {
				t.Fatal(err)
			}
			defer other.ExecContext(ctx, "PRAGMA busy_timeout = 10000")
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = other.ExecContext(ctx, "BEGIN IMMEDIATE")
			if !isBusy(err) {
				t.Errorf("BEGIN IMMEDIATE beside an open BeginTx transaction: %v; want SQLITE_BUSY (the transaction holds the write lock)", err)
			}
			if err == nil {
				_, _ = other.ExecContext(ctx, "ROLLBACK")
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			// Once the transaction is over the same statement succeeds: the
			// check above is not failing for another reason.
			if _, err := other.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
				t.Fatalf("BEGIN IMMEDIATE alone: %v", err)
			}
			if _, err := other.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// TestInProcessWritersQueue: writers of one process never meet SQLite's
// busy handler among themselves; they queue in the driver. With the busy
// timeout at zero, any two of them that reached SQLite's write lock at once
// would fail with SQLITE_BUSY at once. Two collections on the same file
// share the queue.
func TestInProcessWritersQueue(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "queue.db")
	var colls []*docstore.Collection
	for range 2 {
		u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(),
			RawQuery: strings.Replace(sqliteParams, "busy_timeout(10000)", "busy_timeout(0)", 1)}
		db, err := sql.Open("sqlite", u.String())
		if err != nil {
			t.Fatal(err)
		}
		c, err := newCollection(ctx, db, SQLite, "records", "ID", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.ownsDB = true
		coll := docstore.NewCollection(c)
		defer coll.Close()
		colls = append(colls, coll)
	}
	const writers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			coll := colls[w%2]
			for i := range each {
				r := newRecord("proj/env", fmt.Sprintf("W%d_%03d", w, i))
				if err := coll.Create(ctx, r); err != nil {
					errs <- fmt.Errorf("create: %w", err)
					continue
				}
				r.Version++
				if err := coll.Replace(ctx, r); err != nil {
					errs <- fmt.Errorf("replace: %w", err)
				}
				if err := coll.Actions().Put(newRecord("proj/env", fmt.Sprintf("W%d_%03d_A", w, i))).
					Put(newRecord("proj/env", fmt.Sprintf("W%d_%03d_B", w, i))).Do(ctx); err != nil {
					errs <- fmt.Errorf("two puts: %w", err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 3 {
			t.Errorf("%v (busy: %v)", err, isBusy(err))
		}
	}
	if n > 3 {
		t.Errorf("... %d errors in all", n)
	}
	count := 0
	it := colls[0].Query().Get(ctx, "ID")
	defer it.Stop()
	for {
		var r record
		err := it.Next(ctx, &r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
	}
	if want := writers * each * 3; count != want {
		t.Errorf("%d records stored, want %d", count, want)
	}
}
