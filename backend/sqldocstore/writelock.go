package sqldocstore

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite lets one connection write at a time. Between processes, writers
// wait for each other in SQLite's busy handler, which polls with growing
// sleeps and is not fair: under steady load a writer can lose every poll for
// the whole busy timeout and fail with "database is locked" while other
// writers' commits (each one an fsync) go through. Writers inside one
// process need not take part in that: they queue on a writeLock, in arrival
// order and for as long as their contexts allow, and only the writer at the
// head of the queue meets the busy handler, where it competes with other
// processes only.

// writeLock is a FIFO lock: blocked senders on a channel are served in
// order.
type writeLock struct {
	ch   chan struct{}
	refs int // collections using it; guarded by writeLocksMu
}

func (l *writeLock) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *writeLock) unlock() { <-l.ch }

var (
	writeLocksMu sync.Mutex
	// writeLocks holds the lock of each SQLite file some collection of this
	// process has open, keyed by the file's full path as SQLite names it.
	writeLocks = map[string]*writeLock{}
)

// acquireWriteLock returns the write lock of db's main database file,
// shared by every collection of this process on that file, and a function
// that releases the reference. A database without a file (in memory) gets a
// lock of its own.
func acquireWriteLock(ctx context.Context, db *sql.DB) (*writeLock, func(), error) {
	var file string
	if err := db.QueryRowContext(ctx, "SELECT file FROM pragma_database_list WHERE name = 'main'").Scan(&file); err != nil {
		return nil, nil, err
	}
	if file == "" {
		return &writeLock{ch: make(chan struct{}, 1)}, func() {}, nil
	}
	writeLocksMu.Lock()
	defer writeLocksMu.Unlock()
	l := writeLocks[file]
	if l == nil {
		l = &writeLock{ch: make(chan struct{}, 1)}
		writeLocks[file] = l
	}
	l.refs++
	var once sync.Once
	release := func() {
		once.Do(func() {
			writeLocksMu.Lock()
			defer writeLocksMu.Unlock()
			if l.refs--; l.refs == 0 {
				delete(writeLocks, file)
			}
		})
	}
	return l, release, nil
}
