// Package claims makes every write to a docstore collection exclusive per
// document, for stores whose revision-checked writes are not atomic.
//
// # Why
//
// coffer relies on the store to apply a revision-checked write (a Replace,
// Update or Delete of a document that carries its revision) only if the
// document still has that revision, as one step. FerretDB 1.x does not: its
// update and delete commands find the document matching (_id, revision),
// then write it by _id in a second step. Two writers holding the same
// revision can then both succeed, and one change is lost.
//
// # How
//
// Wrap returns a collection that, before each Replace, Put, Update or Delete
// of a document, creates a claim document for it in a second collection (the
// claims collection), then writes, then deletes the claim. A Create is atomic
// on every store (a unique key), so only one writer can hold a claim at a
// time, and while it holds it no other writer of that document is between
// the store's find and write. The store's own revision check then decides
// the write as it would on an atomic store: a writer that waited on a claim
// and whose revision went stale meanwhile fails with the store's usual code.
//
// Creates take no claim: they are atomic already. Gets and queries go
// straight to the wrapped collection; claims live in their own collection,
// so listings never see them. The writes of an atomic group take their
// claims in key order, so two groups never wait on each other in a cycle.
//
// # Waiting and abandoned claims
//
// A writer that finds a document's claim taken waits, with a jittered
// backoff between 1 ms and 25 ms, until it can take it or its context ends;
// a write whose context ends while waiting writes nothing.
//
// A writer that dies holding a claim leaves it behind. The claims of one
// document form a chain, KEY#0, KEY#1, ...: a waiter that sees the same
// claim, unchanged, for a whole lease (Options.Lease, 30 s by default) by
// its own clock takes the next claim of the chain; only one waiter can
// create it. Machines need not agree on the time. After its write the
// successor removes the claims it took over, then its own.
//
// A holder checks just before writing that it began taking its claims less
// than half a lease ago. If not, it does not write: a revision-checked write
// then fails with FailedPrecondition (a conflict, which coffer answers by
// reading again), any other write with Internal. A holder whose claims are a
// whole lease old leaves them for whoever took them over.
//
// The one assumption: a holder's write completes within half a lease of that
// check. A store stalled for longer (15 s with the default lease) could let
// a successor write alongside it.
//
// # Cost
//
// Each write costs two more round trips to the store (create and delete the
// claim). Reads cost nothing more.
package claims

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
)

// DefaultLease is the lease when Options.Lease is zero.
const DefaultLease = 30 * time.Second

// IDField is the key field of the claims collection: open it keyed by this
// field, with docstore's default revision field.
const IDField = "ID"

// Options sets how claims are kept. A nil *Options means the defaults.
type Options struct {
	// RevisionField is the revision field of the wrapped collection's
	// documents; "" means docstore.DefaultRevisionField.
	RevisionField string
	// Lease is how long a claim must stay unchanged before a waiter takes
	// the next claim of its chain; 0 means DefaultLease.
	Lease time.Duration
}

// claim is a claim document.
type claim struct {
	ID string
	// Holder is random per taking, so a claim deleted and taken again is
	// never mistaken for the one a waiter watched.
	Holder string
	// Taken is the holder's clock when it took the claim. It is there for
	// people reading the store; no decision depends on it.
	Taken            time.Time
	DocstoreRevision any
}

// Wrap returns a collection over docs whose writes take claims in the claims
// collection. Documents of docs are keyed by keyField. The returned
// collection owns both: closing it closes docs and claims.
func Wrap(docs, claims *docstore.Collection, keyField string, opts *Options) (*docstore.Collection, error) {
	if keyField == "" {
		return nil, errors.New("claims: the key field is empty")
	}
	c, err := newCollection(docs, claims, keyField, nil, opts)
	if err != nil {
		return nil, err
	}
	return docstore.NewCollection(c), nil
}

// WrapWithKeyFunc is Wrap for a collection whose documents' keys are
// computed by keyFunc, as memdocstore.OpenCollectionWithKeyFunc's are.
// keyFunc's answer, printed with %v, names the document's claims.
func WrapWithKeyFunc(docs, claims *docstore.Collection, keyFunc func(docstore.Document) any, opts *Options) (*docstore.Collection, error) {
	if keyFunc == nil {
		return nil, errors.New("claims: the key function is nil")
	}
	c, err := newCollection(docs, claims, "", keyFunc, opts)
	if err != nil {
		return nil, err
	}
	return docstore.NewCollection(c), nil
}

// collection is the driver.Collection that Wrap returns.
type collection struct {
	docs, claims *docstore.Collection
	keyField     string
	keyFunc      func(docstore.Document) any
	revField     string
	lease        time.Duration

	// now and sleep are the clock; tests replace them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error

	// afterTake, when set, runs after the claims are taken and before they
	// are checked (tests stall a holder with it).
	afterTake func()
	// beforeCreate, when set, runs before each claim is created.
	beforeCreate func(id string)
}

func newCollection(docs, claims *docstore.Collection, keyField string, keyFunc func(docstore.Document) any, opts *Options) (*collection, error) {
	if docs == nil || claims == nil {
		return nil, errors.New("claims: a collection is nil")
	}
	if opts == nil {
		opts = &Options{}
	}
	if opts.Lease < 0 {
		return nil, fmt.Errorf("claims: negative lease %v", opts.Lease)
	}
	c := &collection{
		docs:     docs,
		claims:   claims,
		keyField: keyField,
		keyFunc:  keyFunc,
		revField: opts.RevisionField,
		lease:    opts.Lease,
		now:      time.Now,
		sleep:    sleepCtx,
	}
	if c.revField == "" {
		c.revField = docstore.DefaultRevisionField
	}
	if c.lease == 0 {
		c.lease = DefaultLease
	}
	return c, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// writers bounds how many independent writes of one list run at once.
const writers = 8

// runWrites runs independent writes, each under its own claim; Creates
// and writes without a key need none.
func (c *collection) runWrites(ctx context.Context, writes []*driver.Action, opts *driver.RunActionsOptions, errs []error) {
	var plain []*driver.Action
	var claimed []*driver.Action
	for _, a := range writes {
		if a.Kind == driver.Create || a.Key == nil {
			plain = append(plain, a)
		} else {
			claimed = append(claimed, a)
		}
	}
	c.runPlain(ctx, plain, opts, errs)
	if len(claimed) == 1 {
		// The common case (one Replace or Delete): no goroutine.
		c.runClaimed(ctx, claimed, false, opts, errs)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, writers)
	for _, a := range claimed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c.runClaimed(ctx, []*driver.Action{a}, false, opts, errs)
		})
	}
	wg.Wait()
}

// runAtomic runs an atomic group of writes under the claims of all its
// documents.
func (c *collection) runAtomic(ctx context.Context, writes []*driver.Action, opts *driver.RunActionsOptions, errs []error) {
	if len(writes) == 0 {
		return
	}
	c.runClaimed(ctx, writes, true, opts, errs)
}

// runClaimed takes the claims of writes' documents in key order, checks
// they are fresh, runs the writes and gives the claims back.
func (c *collection) runClaimed(ctx context.Context, writes []*driver.Action, atomic bool, opts *driver.RunActionsOptions, errs []error) {
	fail := func(err error) {
		for _, a := range writes {
			errs[a.Index] = err
		}
	}
	seen := map[string]bool{}
	var names []string
	for _, a := range writes {
		if a.Key == nil {
			continue
		}
		n := fmt.Sprint(a.Key)
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var held []*holding
	defer func() { c.release(held) }()
	for _, n := range names {
		h, err := c.take(ctx, n)
		if err != nil {
			fail(err)
			return
		}
		held = append(held, h)
	}
	if c.afterTake != nil {
		c.afterTake()
	}
	now := c.now()
	for _, h := range held {
		if age := now.Sub(h.since); age >= c.lease/2 {
			for _, a := range writes {
				errs[a.Index] = c.staleError(a, age)
			}
			return
		}
	}
	c.spread(c.innerList(writes, atomic, opts).Do(ctx), writes, errs)
}

// staleError is the error of a write whose claims grew too old to write
// under.
func (c *collection) staleError(a *driver.Action, age time.Duration) error {
	code := gcerrors.Internal
	if rev, _ := a.Doc.GetField(c.revField); rev != nil {
		code = gcerrors.FailedPrecondition
	}
	return &claimError{code: code, msg: fmt.Sprintf("claims: taking the document's claim took %v, over half the %v lease; nothing was written", age.Round(time.Millisecond), c.lease)}
}

// holding is a claim taken, with the abandoned claims it took over.
type holding struct {
	own       *claim
	abandoned []*claim
	// since is the holder's clock just before it created own: a waiter
	// can have watched own for no longer than that.
	since time.Time
}

// take takes the claim of the document named name, waiting while another
// writer holds it.
func (c *collection) take(ctx context.Context, name string) (*holding, error) {
	holder := crand.Text()
	var abandoned []*claim
	// watched is the claim at the head of the chain as first seen, and when.
	var watched *claim
	var watchedSince time.Time
	backoff := time.Millisecond
	for {
		n := len(abandoned)
		since := c.now()
		own := &claim{ID: fmt.Sprintf("%s#%d", name, n), Holder: holder, Taken: since.UTC()}
		if c.beforeCreate != nil {
			c.beforeCreate(own.ID)
		}
		err := c.create(ctx, own)
		if err == nil {
			if n == 0 {
				return &holding{own: own, since: since}, nil
			}
			// A successor holds its claim only while the claims it took
			// over are still there: if one went, its holder (or an earlier
			// successor) finished, and a new writer may hold KEY#0 now.
			ok, err := c.stillThere(ctx, abandoned)
			if err == nil && ok {
				return &holding{own: own, abandoned: abandoned, since: since}, nil
			}
			c.deleteClaim(own)
			if err != nil {
				return nil, err
			}
			abandoned, watched = nil, nil
			continue
		}
		if gcerrors.Code(err) != gcerrors.AlreadyExists {
			return nil, err
		}
		cur := &claim{ID: own.ID}
		switch err := c.claims.Get(ctx, cur); {
		case gcerrors.Code(err) == gcerrors.NotFound:
			// Given back between our Create and Get. If it was a
			// successor's, the chain below it may have changed too.
			if n > 0 {
				abandoned, watched = nil, nil
			}
			continue
		case err != nil:
			return nil, err
		}
		now := c.now()
		switch {
		case watched == nil || watched.ID != cur.ID || watched.Holder != cur.Holder:
			watched, watchedSince = cur, now
		case now.Sub(watchedSince) >= c.lease:
			abandoned = append(abandoned, cur)
			watched = nil
			continue
		}
		d := backoff/2 + rand.N(backoff/2+1)
		if err := c.sleep(ctx, d); err != nil {
			return nil, err
		}
		backoff = min(2*backoff, 25*time.Millisecond)
	}
}

// stillThere reports whether every claim in cs is still stored with the
// holder it was seen with.
func (c *collection) stillThere(ctx context.Context, cs []*claim) (bool, error) {
	for _, want := range cs {
		got := &claim{ID: want.ID}
		err := c.claims.Get(ctx, got)
		if gcerrors.Code(err) == gcerrors.NotFound {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if got.Holder != want.Holder {
			return false, nil
		}
	}
	return true, nil
}

// create creates cl so that its outcome is known. A Create cut short by
// ctx can still land in the store after it returned (the request was sent;
// only its answer was given up), leaving a claim no one releases, which
// holds up the document's writers for a lease. So the Create runs to its
// answer, bounded as a release is, and a claim created after ctx ended is
// given back at once.
func (c *collection) create(ctx context.Context, cl *claim) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.lease/2)
	defer cancel()
	if err := c.claims.Create(wctx, cl); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := ctx.Err(); err != nil {
		c.deleteClaim(cl)
		return err
	}
	return nil
}

// release gives back held claims: first those taken over, then the
// holder's own. A claim a whole lease old is left for whoever took it over.
func (c *collection) release(held []*holding) {
	now := c.now()
	for _, h := range held {
		if now.Sub(h.since) >= c.lease {
			continue
		}
		for _, a := range h.abandoned {
			c.deleteClaim(a)
		}
		c.deleteClaim(h.own)
	}
}

// deleteClaim deletes cl if it still has the revision it was read or
// created with. It runs even when the write's context has ended, with a
// bound of its own: a claim left behind holds up the document's next
// writer for a lease.
func (c *collection) deleteClaim(cl *claim) {
	ctx, cancel := context.WithTimeout(context.Background(), c.lease/2)
	defer cancel()
	_ = c.claims.Delete(ctx, cl)
}

// claimError is an error of this package with its docstore code.
type claimError struct {
	code gcerrors.ErrorCode
	msg  string
}

func (e *claimError) Error() string { return e.msg }
