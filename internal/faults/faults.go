// Package faults wraps a gocloud.dev docstore collection driver and a secrets
// keeper so that tests can make the Nth call to either fail, hang until its
// context ends, or return garbage. One Injector counts the calls of every
// wrapper it is given, so a test can walk an operation through each of its
// failure points in turn: arm call 1, then call 2, ... until the operation
// finishes without reaching the armed call.
package faults

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/coffer-go/coffer/internal/layout"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	secretsdriver "gocloud.dev/secrets/driver"
)

// ErrInjected is the error of an injected failure. The wrappers report it as
// gcerrors.Internal, a transient server-side failure.
var ErrInjected = errors.New("faults: injected failure")

// Mode is what the armed call does.
type Mode int

const (
	// Fail fails the call before it reaches the store or keeper.
	Fail Mode = iota
	// FailAfter lets the call reach the store or keeper, then reports
	// failure: a write that happened but whose answer was lost.
	FailAfter
	// Hang blocks the call until its context ends and returns the context's
	// error.
	Hang
	// Garbage lets the call run and then corrupts what it read: a flipped
	// byte in every Sealed envelope and wrapped data key, a bogus ciphertext
	// from the keeper. Calls that read nothing are not affected.
	Garbage
)

var modeNames = [...]string{"fail", "fail-after", "hang", "garbage"}

func (m Mode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Injector counts calls and fires the armed fault. It is safe for concurrent
// use.
type Injector struct {
	mu    sync.Mutex
	calls int
	at    int // 1-based call index to fault; 0: none
	mode  Mode
	fired string // name of the call that was faulted
	// OnFire, when set, is called as the armed fault fires, before the
	// call hangs or fails: a test cancels its context from here to check
	// that a hung call gives up when its context ends.
	OnFire func(call string)
}

// Arm makes call number n (counted from now, starting at 1) fault with mode.
func (in *Injector) Arm(n int, mode Mode) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.calls, in.at, in.mode, in.fired = 0, n, mode, ""
}

// Disarm stops injecting; calls are still counted.
func (in *Injector) Disarm() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.at = 0
}

// Calls returns how many calls were made since the last Arm.
func (in *Injector) Calls() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.calls
}

// Fired returns the name of the call the armed fault hit, or "".
func (in *Injector) Fired() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.fired
}

// next counts one call and says whether it is to fault, and how.
func (in *Injector) next(name string) (Mode, bool) {
	in.mu.Lock()
	in.calls++
	if in.at == 0 || in.calls != in.at {
		in.mu.Unlock()
		return 0, false
	}
	in.fired = name
	mode, onFire := in.mode, in.OnFire
	in.mu.Unlock()
	if onFire != nil {
		onFire(name)
	}
	return mode, true
}

// hang waits for ctx to end; a caller that never cancels hangs for good,
// which is the fault being simulated.
func hang(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// errorCode maps injected and context errors; others are the inner driver's.
func errorCode(err error, inner func(error) gcerrors.ErrorCode) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, ErrInjected):
		return gcerrors.Internal
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	return inner(err)
}

func flip(b []byte) []byte {
	if len(b) == 0 {
		return []byte{0xff}
	}
	out := append([]byte(nil), b...)
	out[len(out)/2] ^= 0x5a
	return out
}

// Keeper is a secrets driver that delegates to a *secrets.Keeper and
// injects faults into Encrypt and Decrypt.
type Keeper struct {
	inner *secrets.Keeper
	in    *Injector
}

// NewKeeper returns a *secrets.Keeper over inner whose Encrypt and Decrypt
// calls are counted by in. Closing it closes inner.
func NewKeeper(inner *secrets.Keeper, in *Injector) *secrets.Keeper {
	return secrets.NewKeeper(&Keeper{inner: inner, in: in})
}

var _ secretsdriver.Keeper = (*Keeper)(nil)

// Encrypt implements driver.Keeper.
func (k *Keeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	return k.call(ctx, "keeper.Encrypt", plaintext, k.inner.Encrypt)
}

// Decrypt implements driver.Keeper.
func (k *Keeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	return k.call(ctx, "keeper.Decrypt", ciphertext, k.inner.Decrypt)
}

func (k *Keeper) call(ctx context.Context, name string, b []byte, fn func(context.Context, []byte) ([]byte, error)) ([]byte, error) {
	mode, fault := k.in.next(name)
	if !fault {
		return fn(ctx, b)
	}
	switch mode {
	case Hang:
		return nil, hang(ctx)
	case FailAfter:
		if _, err := fn(ctx, b); err != nil {
			return nil, err
		}
		return nil, ErrInjected
	case Garbage:
		out, err := fn(ctx, b)
		if err != nil {
			return nil, err
		}
		return flip(out), nil
	}
	return nil, ErrInjected
}

// Close implements driver.Keeper.
func (k *Keeper) Close() error { return k.inner.Close() }

// ErrorAs implements driver.Keeper.
func (k *Keeper) ErrorAs(err error, i any) bool { return k.inner.ErrorAs(err, i) }

// ErrorCode implements driver.Keeper.
func (k *Keeper) ErrorCode(err error) gcerrors.ErrorCode {
	return errorCode(err, gcerrors.Code)
}

// Collection is a docstore driver that delegates to another driver and
// injects faults into RunActions, RunGetQuery and each query result.
type Collection struct {
	inner driver.Collection
	in    *Injector
}

var _ driver.Collection = (*Collection)(nil)

// NewCollection returns a *docstore.Collection over inner whose calls are
// counted by in. Closing it closes inner.
func NewCollection(inner driver.Collection, in *Injector) *docstore.Collection {
	return docstore.NewCollection(&Collection{inner: inner, in: in})
}

// DriverOf returns the driver beneath coll.
//
// gocloud's memdocstore exports no driver, only a *docstore.Collection, and
// these wrappers must sit between the portable type and a real driver so
// that the store behaves exactly as in production (revisions, queries,
// encoding). The driver is read from the Collection's unexported field;
// the check below fails loudly if a gocloud release changes that field.
func DriverOf(coll *docstore.Collection) (driver.Collection, error) {
	v := reflect.ValueOf(coll).Elem().FieldByName("driver")
	if !v.IsValid() || v.Type() != reflect.TypeFor[driver.Collection]() {
		return nil, errors.New("faults: docstore.Collection has no driver field of type driver.Collection; update DriverOf for this gocloud release")
	}
	d := reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().Interface()
	return d.(driver.Collection), nil
}

// RunActions implements driver.Collection. One call is one action list.
func (c *Collection) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	mode, fault := c.in.next("store." + describe(actions))
	if !fault {
		return c.inner.RunActions(ctx, actions, opts)
	}
	failAll := func(err error) driver.ActionListError {
		errs := make([]error, len(actions))
		for i := range errs {
			errs[i] = err
		}
		return driver.NewActionListError(errs)
	}
	switch mode {
	case Hang:
		return failAll(hang(ctx))
	case FailAfter:
		if alerr := c.inner.RunActions(ctx, actions, opts); alerr != nil {
			return alerr
		}
		return failAll(ErrInjected)
	case Garbage:
		alerr := c.inner.RunActions(ctx, actions, opts)
		for _, a := range actions {
			if a.Kind == driver.Get {
				corrupt(a.Doc)
			}
		}
		return alerr
	}
	return failAll(ErrInjected)
}

func describe(actions []*driver.Action) string {
	if len(actions) != 1 {
		return fmt.Sprintf("%d actions", len(actions))
	}
	return actions[0].Kind.String()
}

// corrupt flips a byte of every envelope and wrapped data key in doc.
func corrupt(doc driver.Document) {
	if v, err := doc.GetField("Sealed"); err == nil {
		if b, ok := v.([]byte); ok && len(b) > 0 {
			_ = doc.SetField("Sealed", flip(b))
		}
	}
	if v, err := doc.GetField("Keys"); err == nil {
		switch keys := v.(type) {
		case []layout.WrappedKey:
			bad := append([]layout.WrappedKey(nil), keys...)
			for i := range bad {
				bad[i].Wrapped = flip(bad[i].Wrapped)
			}
			_ = doc.SetField("Keys", bad)
		}
	}
}

// RunGetQuery implements driver.Collection. The query call and each Next
// of its iterator are calls.
func (c *Collection) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	mode, fault := c.in.next("store.Query")
	if fault {
		switch mode {
		case Hang:
			return nil, hang(ctx)
		case Fail:
			return nil, ErrInjected
		}
	}
	it, err := c.inner.RunGetQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	if fault && mode == FailAfter {
		it.Stop()
		return nil, ErrInjected
	}
	return &iterator{inner: it, in: c.in, garbage: fault && mode == Garbage}, nil
}

type iterator struct {
	inner   driver.DocumentIterator
	in      *Injector
	garbage bool
}

func (it *iterator) Next(ctx context.Context, doc driver.Document) error {
	mode, fault := it.in.next("store.Query.Next")
	if fault {
		switch mode {
		case Hang:
			return hang(ctx)
		case Fail:
			return ErrInjected
		}
	}
	if err := it.inner.Next(ctx, doc); err != nil {
		return err
	}
	switch {
	case fault && mode == FailAfter:
		return ErrInjected
	case it.garbage || (fault && mode == Garbage):
		corrupt(doc)
	}
	return nil
}

func (it *iterator) Stop()                                 { it.inner.Stop() }
func (it *iterator) As(i any) bool                         { return it.inner.As(i) }
func (c *Collection) Key(doc driver.Document) (any, error) { return c.inner.Key(doc) }

// RevisionField implements driver.Collection.
func (c *Collection) RevisionField() string { return c.inner.RevisionField() }

// QueryPlan implements driver.Collection.
func (c *Collection) QueryPlan(q *driver.Query) (string, error) { return c.inner.QueryPlan(q) }

// RevisionToBytes implements driver.Collection.
func (c *Collection) RevisionToBytes(rev any) ([]byte, error) { return c.inner.RevisionToBytes(rev) }

// BytesToRevision implements driver.Collection.
func (c *Collection) BytesToRevision(b []byte) (any, error) { return c.inner.BytesToRevision(b) }

// As implements driver.Collection.
func (c *Collection) As(i any) bool { return c.inner.As(i) }

// ErrorAs implements driver.Collection.
func (c *Collection) ErrorAs(err error, i any) bool { return c.inner.ErrorAs(err, i) }

// ErrorCode implements driver.Collection.
func (c *Collection) ErrorCode(err error) gcerrors.ErrorCode {
	return errorCode(err, c.inner.ErrorCode)
}

// Close implements driver.Collection.
func (c *Collection) Close() error { return c.inner.Close() }
