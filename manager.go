package coffer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
	"gocloud.dev/docstore"
	"gocloud.dev/secrets"
)

// Manager manages the secrets of one project and environment. It is safe for
// concurrent use. Managers made by Project and Environment share its
// collection, keeper and keyring.
type Manager struct {
	shared *shared
	opts   Options // resolved: names and limits set
	scope  string
	root   bool // made by New or Open: its Close closes the shared state
	closed atomic.Bool
	// listed is how many secrets the last List returned: the next one
	// starts with room for as many, instead of growing its slice (and
	// leaving the smaller ones as garbage) on every listing.
	listed atomic.Int64
	// last is the last List's answer with the revision of each record it
	// read, so the next List can answer from it when no record changed
	// (see List).
	last atomic.Pointer[listing]
}

// shared is what every Manager derived from one New or Open has in common.
type shared struct {
	coll    *docstore.Collection
	keyring *crypto.Keyring
	closers []func() error // what Open opened, closed by the root's Close
	closed  atomic.Bool
	once    sync.Once
}

// New returns a Manager over coll, sealing values with data keys wrapped by
// keeper. The caller keeps ownership of coll and keeper; Close does not close
// them. coll must use coffer's layout (see backend.OpenCollection).
func New(coll *docstore.Collection, keeper *secrets.Keeper, opts *Options) (*Manager, error) {
	if coll == nil || keeper == nil {
		return nil, fmt.Errorf("%w: New needs a collection and a keeper", ErrInvalidOptions)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newManager(&shared{coll: coll, keyring: crypto.NewKeyring(coll, keeper, o.Now)}, o)
	if err != nil {
		return nil, err
	}
	m.root = true
	return m, nil
}

func newManager(sh *shared, o Options) (*Manager, error) {
	var p problems
	if o.Project == "" {
		o.Project = DefaultName
	}
	if o.Environment == "" {
		o.Environment = DefaultName
	}
	p.add(validateName("project", o.Project))
	p.add(validateName("environment", o.Environment))
	switch {
	case o.MaxValueBytes == 0:
		o.MaxValueBytes = DefaultMaxValueBytes
	case o.MaxValueBytes < 0:
		p.add(fmt.Errorf("%w: MaxValueBytes is %d; use 0 for the default or a positive limit", ErrInvalidOptions, o.MaxValueBytes))
	}
	switch {
	case o.MaxVersions == 0:
		o.MaxVersions = DefaultMaxVersions
	case o.MaxVersions < 0:
		p.add(fmt.Errorf("%w: MaxVersions is %d; use 0 for the default or a positive count", ErrInvalidOptions, o.MaxVersions))
	}
	if err := p.result(); err != nil {
		return nil, err
	}
	return &Manager{shared: sh, opts: o, scope: layout.Scope(o.Project, o.Environment)}, nil
}

// Environment returns a Manager for another environment of the same project.
// It shares this Manager's collection and keyring; closing it does not close
// this one.
func (m *Manager) Environment(name string) (*Manager, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: environment name is empty", ErrInvalidName)
	}
	o := m.opts
	o.Environment = name
	return newManager(m.shared, o)
}

// Project returns a Manager for another project, in the environment of the
// same name. Its secrets are fully separate from this project's.
func (m *Manager) Project(name string) (*Manager, error) {
	if name == "" {
		return nil, fmt.Errorf("%w: project name is empty", ErrInvalidName)
	}
	o := m.opts
	o.Project = name
	return newManager(m.shared, o)
}

// Close closes the Manager. Closing the Manager that New or Open returned
// closes every Manager derived from it, and what Open opened. Close is safe
// to call more than once.
func (m *Manager) Close() error {
	m.closed.Store(true)
	if !m.root {
		return nil
	}
	var p problems
	m.shared.once.Do(func() {
		m.shared.closed.Store(true)
		for _, c := range m.shared.closers {
			p.add(c())
		}
	})
	return p.result()
}

// check refuses work on a closed Manager or a done context, so even a store
// that ignores contexts (memdocstore) honours cancellation.
func (m *Manager) check(ctx context.Context) error {
	if m.closed.Load() || m.shared.closed.Load() {
		return ErrClosed
	}
	return ctx.Err()
}

// actorKey carries the actor of WithActor.
type actorKey struct{}

// WithActor returns a context whose operations are attributed to actor: it
// becomes CreatedBy/UpdatedBy and the actor of audit events.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

func (m *Manager) now() time.Time {
	// Stores keep times at different precisions (FerretDB keeps
	// milliseconds); coffer keeps milliseconds everywhere so every backend
	// returns the same Secret.
	return m.opts.Now().UTC().Truncate(time.Millisecond)
}

// place is where a value of key, created at createdAt, is sealed: the
// creation time tells the secret from an earlier one of the same key.
func (m *Manager) place(key string, createdAt time.Time) crypto.Place {
	return crypto.Place{Project: m.opts.Project, Environment: m.opts.Environment, Key: key, CreatedAt: createdAt}
}

func (m *Manager) record(key string) *layout.Record {
	return layout.NewRecord(m.opts.Project, m.opts.Environment, key)
}

// where names the Manager's project and environment in messages.
func (m *Manager) where() string {
	return fmt.Sprintf("project %q, environment %q", m.opts.Project, m.opts.Environment)
}
