package coffervar

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"gocloud.dev/gcerrors"
	"gocloud.dev/runtimevar"
	"gocloud.dev/runtimevar/driver"

	"github.com/coffer-go/coffer"
)

// watcher implements driver.Watcher for one secret of one Manager.
//
// runtimevar calls WatchVariable from one goroutine at a time, so the
// watcher's own field (opened) needs no lock.
type watcher struct {
	m       *coffer.Manager
	key     string
	decoder *runtimevar.Decoder
	wait    time.Duration

	// opened is the version whose value was last opened, decoded or not. A
	// decode failure equivalent to the reported one yields no new state,
	// so the Variable's previous state can be of an older version than this.
	opened coffer.Secret
}

var _ driver.Watcher = (*watcher)(nil)

// state implements driver.State.
type state struct {
	val any
	err error
	// sec is the metadata of the version val (or the decode failure err)
	// comes from; opened says whether there is one.
	sec    coffer.Secret
	opened bool
}

// Value implements driver.State.
func (s *state) Value() (any, error) { return s.val, s.err }

// UpdateTime implements driver.State: when the value was set.
func (s *state) UpdateTime() time.Time { return s.sec.RotatedAt }

// As implements driver.State: *coffer.Secret receives the metadata.
func (s *state) As(i any) bool {
	p, ok := i.(*coffer.Secret)
	if !ok || !s.opened {
		return false
	}
	*p = s.sec
	return true
}

// sameVersion reports whether a and b describe the same value of the same
// secret. Version alone is not enough: a secret deleted and created again
// starts again at version 1, with a new CreatedAt.
func sameVersion(a, b coffer.Secret) bool {
	return a.Version == b.Version && a.CreatedAt.Equal(b.CreatedAt) && a.RotatedAt.Equal(b.RotatedAt)
}

// maxOpenAttempts bounds how often one poll opens a value that keeps
// changing while it is read.
const maxOpenAttempts = 3

// WatchVariable implements driver.Watcher. An unchanged secret costs one
// metadata read; a new value, a Reveal and a second metadata read.
func (w *watcher) WatchVariable(ctx context.Context, prev driver.State) (driver.State, time.Duration) {
	p, _ := prev.(*state)
	sec, err := w.m.Get(ctx, w.key)
	if err != nil {
		return w.failed(err, p)
	}
	if p != nil && p.opened && sameVersion(w.opened, sec) {
		return nil, w.wait
	}
	var v coffer.Value
	for attempt := 1; ; attempt++ {
		if v, err = w.m.Reveal(ctx, w.key); err != nil {
			return w.failed(err, p)
		}
		// The value may be of a newer version than sec, if it changed
		// between the two reads: read the metadata again, so that the
		// snapshot's UpdateTime is that of the value it holds.
		after, err := w.m.Get(ctx, w.key)
		if err != nil {
			return w.failed(err, p)
		}
		same := sameVersion(after, sec)
		sec = after
		if same || attempt == maxOpenAttempts {
			// After maxOpenAttempts the value is at least as new as sec;
			// the next poll corrects the metadata if it is newer.
			break
		}
	}
	w.opened = sec
	val, err := w.decoder.Decode(ctx, []byte(v))
	if err != nil {
		s := errorState(fmt.Errorf("%w: secret %q, version %d: the decoder failed with a %T; its message is withheld because it may quote the value", ErrDecode, w.key, sec.Version, err), p)
		if s != nil {
			s.sec, s.opened = sec, true
			return s, w.wait
		}
		return nil, w.wait
	}
	return &state{val: val, sec: sec, opened: true}, w.wait
}

// failed returns what WatchVariable returns for err: a state holding it, or
// no state (a nil interface, not a nil *state) when prev holds the same
// condition.
func (w *watcher) failed(err error, prev *state) (driver.State, time.Duration) {
	if s := errorState(err, prev); s != nil {
		return s, w.wait
	}
	return nil, w.wait
}

// errorState returns a state holding err, or nil when prev holds an
// equivalent error: Watch reports a condition once, not at every poll.
func errorState(err error, prev *state) *state {
	if prev != nil && prev.err != nil && equivalent(err, prev.err) {
		return nil
	}
	return &state{err: err}
}

// kindOf names the condition err reports: coffer's code for its sentinel
// (coffer.ErrorCode), "decode" for ErrDecode, "error" for anything else.
// Errors are told apart by condition, not by text alone: a NotFound message
// changes with its "did you mean" suggestion, a decode failure's with the
// version, but each is still the same condition.
func kindOf(err error) string {
	if errors.Is(err, ErrDecode) {
		return "decode"
	}
	return coffer.ErrorCode(err)
}

func equivalent(a, b error) bool {
	if a.Error() == b.Error() {
		return true
	}
	if ka, kb := kindOf(a), kindOf(b); ka != "error" || kb != "error" {
		return ka == kb
	}
	// Two store failures: the same when the store gave them the same code.
	ca := gcerrors.Code(a)
	return ca != gcerrors.Unknown && ca == gcerrors.Code(b)
}

// Close implements driver.Watcher. The Manager is the caller's.
func (w *watcher) Close() error { return nil }

// ErrorAs implements driver.Watcher: errors.As over coffer's error. A target
// errors.As would panic on (a pointer to a type that is neither an error nor
// an interface) gets false.
func (w *watcher) ErrorAs(err error, i any) bool {
	t := reflect.TypeOf(i)
	if t == nil || t.Kind() != reflect.Pointer || reflect.ValueOf(i).IsNil() {
		return false
	}
	if e := t.Elem(); e.Kind() != reflect.Interface && !e.Implements(errorType) {
		return false
	}
	return errors.As(err, i)
}

var errorType = reflect.TypeFor[error]()

// ErrorCode implements driver.Watcher.
func (w *watcher) ErrorCode(err error) gcerrors.ErrorCode {
	switch kindOf(err) {
	case "not_found":
		return gcerrors.NotFound
	case "key_required", "invalid_key", "invalid_name", "invalid_options":
		return gcerrors.InvalidArgument
	case "closed", "decode":
		return gcerrors.FailedPrecondition
	case "decrypt":
		return gcerrors.Internal
	}
	// Store failures keep the code the store's driver gave them; context
	// errors theirs.
	return gcerrors.Code(err)
}
