package coffer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/crypto"
)

// Value is a secret value. Every way of printing or encoding it — fmt verbs,
// JSON, text and slog — shows "[REDACTED]"; convert it with string(v) where
// the value itself is needed.
type Value string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Value) String() string { return redacted }

// GoString returns "[REDACTED]", for %#v.
func (Value) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb and flag.
func (Value) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON encodes the value as the JSON string "[REDACTED]".
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the value as "[REDACTED]".
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue makes slog record "[REDACTED]".
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// Type says what kind of secret a record holds; it is shown on the Secrets
// page. When NewSecret.Type is empty, it is inferred from the key (InferType).
type Type string

// The types the rules infer. Any other lower-case identifier may be set.
const (
	TypeAPIKey           Type = "api_key"
	TypeConnectionString Type = "connection_string"
	TypeToken            Type = "token"
	TypePassword         Type = "password"
	TypeCredential       Type = "credential"
	TypeEncryptionKey    Type = "encryption_key"
	TypeGeneric          Type = "generic"
)

// NewSecret is what Create takes: the Secrets page's "Add Secret" dialog.
type NewSecret struct {
	Key         string
	Value       Value
	Description string
	Type        Type // empty: inferred from Key
}

// Change is what Update takes: the page's edit dialog. An empty Value keeps
// the current value; a nil Description keeps the current description.
type Change struct {
	Value       Value
	Description *string
}

// Secret is a secret's metadata. It never holds the value.
type Secret struct {
	Key         string
	Description string
	Project     string
	Environment string
	Type        Type
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// RotatedAt is when the current value was set: CreatedAt until the value
	// is first changed.
	RotatedAt time.Time
	CreatedBy string
	UpdatedBy string
	// Version is 1 at create and grows by one on each value change.
	Version int
}

// Options configure a Manager. The zero value (or nil) gives the defaults.
type Options struct {
	Project          string           // "" means "default"; one platform may host many projects
	Environment      string           // "" means "default"; e.g. "development", "staging", "production"
	MaxValueBytes    int              // 0 means 65536
	RequireUppercase bool             // enforce the UPPERCASE best practice as a rule
	AuditLog         *slog.Logger     // nil: no audit events
	Now              func() time.Time // nil: time.Now
}

// DefaultName is the project and environment used when Options leaves them empty.
const DefaultName = "default"

// maxAttempts bounds the read-modify-write retries of Update and Delete.
const maxAttempts = 16

// Manager manages the secrets of one project and environment. It is safe for
// concurrent use. Managers made by Project and Environment share its
// collection, keeper and keyring.
type Manager struct {
	shared *shared
	opts   Options // resolved: names and limits set
	scope  string
	root   bool // made by New or Open: its Close closes the shared state
	closed atomic.Bool
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
	if err := p.result(); err != nil {
		return nil, err
	}
	return &Manager{shared: sh, opts: o, scope: backend.Scope(o.Project, o.Environment)}, nil
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

func (m *Manager) record(key string) *backend.Record {
	return backend.NewRecord(m.opts.Project, m.opts.Environment, key)
}

// Create adds a secret. Every problem with s is reported together; a
// rejected call stores nothing. A taken key gives ErrAlreadyExists.
func (m *Manager) Create(ctx context.Context, s NewSecret) (sec Secret, err error) {
	defer func() { m.audit(ctx, "create", s.Key, err) }()
	if err := m.check(ctx); err != nil {
		return Secret{}, err
	}
	var p problems
	p.add(validateKey(s.Key, m.opts.RequireUppercase))
	if s.Value == "" {
		p.add(ErrValueRequired)
	} else {
		p.add(validateValue(s.Value, m.opts.MaxValueBytes))
	}
	p.add(validateDescription(s.Description))
	p.add(validateType(s.Type))
	if err := p.result(); err != nil {
		return Secret{}, err
	}
	typ := s.Type
	if typ == "" {
		typ = InferType(s.Key)
	}
	now, actor := m.now(), actorOf(ctx)
	sealed, err := m.shared.keyring.Seal(ctx, m.place(s.Key, now), []byte(s.Value))
	if err != nil {
		return Secret{}, keyringError(err)
	}
	rec := m.record(s.Key)
	rec.Project, rec.Environment = m.opts.Project, m.opts.Environment
	rec.Description, rec.Type = s.Description, string(typ)
	rec.CreatedAt, rec.UpdatedAt, rec.RotatedAt = now, now, now
	rec.CreatedBy, rec.UpdatedBy = actor, actor
	rec.Version = 1
	rec.Sealed = sealed
	if err := m.shared.coll.Create(ctx, rec); err != nil {
		if backend.IsAlreadyExists(err) {
			return Secret{}, fmt.Errorf("%w: %q in %s", ErrAlreadyExists, s.Key, m.where())
		}
		return Secret{}, storeError("create", err)
	}
	return toSecret(rec), nil
}

// Get returns a secret's metadata, never its value.
func (m *Manager) Get(ctx context.Context, key string) (sec Secret, err error) {
	defer func() { m.audit(ctx, "get", key, err) }()
	rec, err := m.get(ctx, key, backend.MetadataFields...)
	if err != nil {
		return Secret{}, err
	}
	return toSecret(rec), nil
}

// Reveal returns a secret's value: one store read and one AES-GCM open.
func (m *Manager) Reveal(ctx context.Context, key string) (v Value, err error) {
	defer func() { m.audit(ctx, "reveal", key, err) }()
	rec, err := m.get(ctx, key, sealedFields...)
	if err != nil {
		return "", err
	}
	plain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed)
	if err != nil {
		return "", fmt.Errorf("secret %q in %s: %w", key, m.where(), keyringError(err))
	}
	return Value(plain), nil
}

// The projections of the reads that need a few fields. They are package
// variables so that a read does not allocate its field list.
var (
	sealedFields   = []docstore.FieldPath{"ID", "CreatedAt", "Sealed"}
	revisionFields = []docstore.FieldPath{"ID", "DocstoreRevision"}
	keyFields      = []docstore.FieldPath{"ID", "Key"}
	environFields  = []docstore.FieldPath{"ID", "Key", "CreatedAt", "Sealed"}
)

// get reads one record (only fields, when given) after checking the key.
func (m *Manager) get(ctx context.Context, key string, fields ...docstore.FieldPath) (*backend.Record, error) {
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	if err := validateKey(key, false); err != nil {
		return nil, err
	}
	rec := m.record(key)
	if err := m.shared.coll.Get(ctx, rec, fields...); err != nil {
		if backend.IsNotFound(err) {
			return nil, m.notFound(ctx, key)
		}
		return nil, storeError("read", err)
	}
	return rec, nil
}

// List returns the metadata of every secret of the Manager's project and
// environment, sorted by key. It never reads a sealed value.
func (m *Manager) List(ctx context.Context) (out []Secret, err error) {
	defer func() { m.audit(ctx, "list", "", err) }()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	out = []Secret{}
	err = m.scan(ctx, backend.MetadataFields, func(rec *backend.Record) error {
		out = append(out, toSecret(rec))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scan runs the keyed listing query of the Manager's scope, in key order.
// It decodes every record into the same Record, so fn must copy what it
// keeps (strings and the Sealed slice are fresh for each record).
func (m *Manager) scan(ctx context.Context, fields []docstore.FieldPath, fn func(*backend.Record) error) error {
	it := backend.ListQuery(m.shared.coll, m.scope).Get(ctx, fields...)
	defer it.Stop()
	rec := &backend.Record{}
	for {
		*rec = backend.Record{} // no field of the previous record leaks into this one
		err := it.Next(ctx, rec)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return storeError("list", err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// Update changes a secret's value, description, or both. An empty value
// keeps the current one; a nil description keeps the current one; when
// nothing is new it returns ErrNoChanges. The key never changes. Update is a
// read-modify-write under the store's revision, retried when another writer
// got there first, so concurrent updates never lose one another.
func (m *Manager) Update(ctx context.Context, key string, c Change) (sec Secret, err error) {
	defer func() { m.audit(ctx, "update", key, err) }()
	if err := m.check(ctx); err != nil {
		return Secret{}, err
	}
	var p problems
	p.add(validateKey(key, false))
	if c.Value != "" {
		p.add(validateValue(c.Value, m.opts.MaxValueBytes))
	}
	if c.Description != nil {
		p.add(validateDescription(*c.Description))
	}
	if err := p.result(); err != nil {
		return Secret{}, err
	}
	if c.Value == "" && c.Description == nil {
		return Secret{}, ErrNoChanges
	}
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return Secret{}, err
		}
		rec, err := m.get(ctx, key)
		if err != nil {
			return Secret{}, err
		}
		if c.Value == "" && *c.Description == rec.Description {
			return Secret{}, ErrNoChanges
		}
		if c.Value == "" {
			// The record is written back whole, envelope included: check it
			// still opens, so an envelope corrupted on its way from the store
			// is reported rather than stored over the value.
			if _, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed); err != nil {
				return Secret{}, fmt.Errorf("secret %q in %s: %w", key, m.where(), keyringError(err))
			}
		}
		now := m.now()
		if c.Value != "" {
			// Sealed after the read: the envelope binds the record's
			// creation time, which only the read tells.
			sealed, err := m.shared.keyring.Seal(ctx, m.place(key, rec.CreatedAt), []byte(c.Value))
			if err != nil {
				return Secret{}, keyringError(err)
			}
			rec.Sealed = sealed
			rec.Version++
			rec.RotatedAt = now
		}
		if c.Description != nil {
			rec.Description = *c.Description
		}
		rec.UpdatedAt, rec.UpdatedBy = now, actorOf(ctx)
		err = m.shared.coll.Replace(ctx, rec)
		if err == nil {
			return toSecret(rec), nil
		}
		if !backend.IsConflict(err) {
			return Secret{}, storeError("update", err)
		}
		// Someone else wrote (or deleted) the record since we read it:
		// read again and reapply the change.
	}
	return Secret{}, fmt.Errorf("%w: %q in %s", ErrConflict, key, m.where())
}

// Delete removes a secret and its sealed value for good. A missing key gives
// ErrNotFound.
func (m *Manager) Delete(ctx context.Context, key string) (err error) {
	defer func() { m.audit(ctx, "delete", key, err) }()
	for attempt := range maxAttempts {
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
		rec, err := m.get(ctx, key, revisionFields...)
		if err != nil {
			return err
		}
		// The revision makes the delete fail if the record changed or went
		// away since the read, so a missing key is reported, not ignored.
		err = m.shared.coll.Delete(ctx, rec)
		if err == nil {
			return nil
		}
		if !backend.IsConflict(err) {
			return storeError("delete", err)
		}
	}
	return fmt.Errorf("%w: %q in %s", ErrConflict, key, m.where())
}

// maxBackoff caps the wait before one retry of a write that lost a race.
const maxBackoff = 100 * time.Millisecond

// backoff waits before attempt (0-based) of a read-modify-write: not at all
// before the first, then a random time up to 2 ms, 4 ms, 8 ms, ... capped at
// maxBackoff. Writers that collided retry at different moments instead of
// colliding again in lockstep, which on a store with real latency (DynamoDB)
// would use up every attempt under contention. It returns ctx's error if
// ctx ends first.
func backoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	limit := min(2*time.Millisecond<<(attempt-1), maxBackoff)
	timer := time.NewTimer(rand.N(limit))
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Require checks that every key exists, reporting all missing keys at once
// (each an ErrNotFound, with a suggestion when one is close). Call it at
// start-up with the keys a program needs.
func (m *Manager) Require(ctx context.Context, keys ...string) (err error) {
	defer func() { m.audit(ctx, "require", "", err) }()
	if err := m.check(ctx); err != nil {
		return err
	}
	stored, err := m.keys(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(stored))
	for _, k := range stored {
		have[k] = true
	}
	var p problems
	for _, k := range keys {
		if err := validateKey(k, false); err != nil {
			p.add(err)
			continue
		}
		if !have[k] {
			p.add(m.notFoundAmong(k, stored))
		}
	}
	return p.result()
}

// Environ returns every secret of the Manager's project and environment as
// "KEY=value", sorted by key, ready for exec.Cmd.Env. The strings hold the
// values: handle them as secrets.
func (m *Manager) Environ(ctx context.Context) (env []string, err error) {
	defer func() { m.audit(ctx, "environ", "", err) }()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	env = []string{}
	err = m.scan(ctx, environFields, func(rec *backend.Record) error {
		plain, err := m.shared.keyring.Open(ctx, m.place(rec.Key, rec.CreatedAt), rec.Sealed)
		if err != nil {
			return fmt.Errorf("secret %q in %s: %w", rec.Key, m.where(), keyringError(err))
		}
		env = append(env, rec.Key+"="+string(plain))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return env, nil
}

// keys returns the stored keys of the scope, in order.
func (m *Manager) keys(ctx context.Context) ([]string, error) {
	var keys []string
	err := m.scan(ctx, keyFields, func(rec *backend.Record) error {
		keys = append(keys, rec.Key)
		return nil
	})
	return keys, err
}

// notFound builds the ErrNotFound for key, suggesting a stored key that
// differs only in case or underscores. It costs one keyed listing, paid only
// when a key is missing.
func (m *Manager) notFound(ctx context.Context, key string) error {
	stored, err := m.keys(ctx)
	if err != nil {
		stored = nil // the suggestion is a courtesy; the answer is still "not found"
	}
	return m.notFoundAmong(key, stored)
}

func (m *Manager) notFoundAmong(key string, stored []string) error {
	want := fold(key)
	for _, k := range stored {
		if k != key && fold(k) == want {
			return fmt.Errorf("%w: %q in %s; did you mean %s?", ErrNotFound, key, m.where(), k)
		}
	}
	return fmt.Errorf("%w: %q in %s", ErrNotFound, key, m.where())
}

// fold maps keys that differ only in case or underscores to one form.
func fold(key string) string {
	return strings.ToUpper(strings.ReplaceAll(key, "_", ""))
}

// where names the Manager's project and environment in messages.
func (m *Manager) where() string {
	return fmt.Sprintf("project %q, environment %q", m.opts.Project, m.opts.Environment)
}

func toSecret(r *backend.Record) Secret {
	return Secret{
		Key:         r.Key,
		Description: r.Description,
		Project:     r.Project,
		Environment: r.Environment,
		Type:        Type(r.Type),
		CreatedAt:   r.CreatedAt,
		UpdatedAt:   r.UpdatedAt,
		RotatedAt:   r.RotatedAt,
		CreatedBy:   r.CreatedBy,
		UpdatedBy:   r.UpdatedBy,
		Version:     r.Version,
	}
}

// storeError wraps a store failure. Context errors stay matchable with
// errors.Is; a closed collection reads as ErrClosed.
func storeError(op string, err error) error {
	if backend.IsClosed(err) {
		return fmt.Errorf("%w: %s: %w", ErrClosed, op, err)
	}
	return fmt.Errorf("coffer: %s: %w", op, err)
}

// keyringError maps a keyring failure caused by a closed collection (the
// keyring reads it on first use and on rotation) to ErrClosed; any other
// error passes unchanged.
func keyringError(err error) error {
	if backend.IsClosed(err) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// audit records one event per operation. Events hold the operation, where,
// the key, the actor, what extra gives (Check's counts) and the outcome;
// never a value (no error holds one).
func (m *Manager) audit(ctx context.Context, op, key string, err error, extra ...slog.Attr) {
	log := m.opts.AuditLog
	if log == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("op", op),
		slog.String("project", m.opts.Project),
		slog.String("environment", m.opts.Environment),
	}
	if key != "" {
		attrs = append(attrs, slog.String("key", key))
	}
	attrs = append(attrs, slog.String("actor", actorOf(ctx)))
	attrs = append(attrs, extra...)
	level := slog.LevelInfo
	if err == nil {
		attrs = append(attrs, slog.String("outcome", "ok"))
	} else {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("outcome", outcome(err)), slog.String("error", err.Error()))
	}
	log.LogAttrs(context.WithoutCancel(ctx), level, "coffer."+op, attrs...)
}

// outcome names the sentinel an error matches, for audit consumers.
func outcome(err error) string {
	for _, s := range sentinelNames {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return "error"
}

var sentinelNames = []struct {
	name string
	err  error
}{
	{"key_required", ErrKeyRequired}, {"value_required", ErrValueRequired},
	{"no_changes", ErrNoChanges}, {"invalid_key", ErrInvalidKey},
	{"invalid_value", ErrInvalidValue}, {"invalid_type", ErrInvalidType},
	{"description_too_long", ErrDescriptionTooLong}, {"invalid_description", ErrInvalidDescription},
	{"value_too_large", ErrValueTooLarge}, {"not_found", ErrNotFound},
	{"already_exists", ErrAlreadyExists}, {"conflict", ErrConflict},
	{"decrypt", ErrDecrypt}, {"closed", ErrClosed},
}
