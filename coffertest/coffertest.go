// Package coffertest gives test suites a ready coffer.Manager: in memory (or
// over a collection the test brings), sealed under a random key, closed when
// the test ends. It is the one fixture coffer's own suites use too.
package coffertest

import (
	"bytes"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
)

// NewManager returns a Manager over a fresh in-memory collection and a
// keeper with a random key, closed by t.Cleanup. opts may be nil.
func NewManager(t testing.TB, opts *coffer.Options) *coffer.Manager {
	t.Helper()
	return New(t, nil, opts).Manager
}

// Env is a Manager with what it was made of, for tests that look beneath
// it: the raw collection, the keeper, and the audit events it wrote.
type Env struct {
	Manager    *coffer.Manager
	Collection *docstore.Collection
	Keeper     *secrets.Keeper
	// Audit holds the Manager's audit events as JSON lines, unless
	// opts.AuditLog named another logger.
	Audit *AuditBuffer
}

// New returns a Manager over coll (nil: a fresh in-memory collection with
// coffer's layout) and a keeper with a random key. Unless opts sets
// AuditLog, audit events go to Env.Audit. t.Cleanup closes the Manager, the
// keeper and the collection, whether New opened it or the caller did.
func New(t testing.TB, coll *docstore.Collection, opts *coffer.Options) *Env {
	t.Helper()
	if coll == nil {
		var err error
		if coll, err = backend.OpenMemCollection(); err != nil {
			t.Fatalf("coffertest: open collection: %v", err)
		}
	}
	keeper := RandomKeeper(t)
	audit := &AuditBuffer{}
	var o coffer.Options
	if opts != nil {
		o = *opts
	}
	if o.AuditLog == nil {
		o.AuditLog = slog.New(slog.NewJSONHandler(audit, nil))
	}
	m, err := coffer.New(coll, keeper, &o)
	if err != nil {
		_ = keeper.Close()
		_ = coll.Close()
		t.Fatalf("coffertest: new manager: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("coffertest: close manager: %v", err)
		}
		_ = keeper.Close()
		_ = coll.Close() // the test may have closed it already
	})
	return &Env{Manager: m, Collection: coll, Keeper: keeper, Audit: audit}
}

// WithClock returns a copy of opts (nil: the defaults) whose clock reads now,
// unless opts already sets one: for tests that compare times exactly.
func WithClock(opts *coffer.Options, now time.Time) *coffer.Options {
	var o coffer.Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = func() time.Time { return now }
	}
	return &o
}

// RandomKeeper returns a local keeper with a new random key. The caller
// closes it; benchmarks that keep a fixture across runs do so on purpose.
func RandomKeeper(t testing.TB) *secrets.Keeper {
	t.Helper()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatalf("coffertest: generate key: %v", err)
	}
	return localsecrets.NewKeeper(key)
}

// AuditBuffer is an audit log sink (for Options.AuditLog through a slog
// handler) safe for concurrent Managers; String returns what was logged.
type AuditBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *AuditBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *AuditBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
