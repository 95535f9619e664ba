// Package coffervar is a gocloud.dev/runtimevar driver that follows a coffer
// secret as it changes: a long-running program reads DATABASE_URL once at
// start, and when the secret is rotated the new value reaches it without a
// restart. Use OpenVariable with a *coffer.Manager, or runtimevar.OpenVariable
// with a coffer:// URL.
//
// # Polling
//
// A Variable polls its secret every Options.WaitDuration (30 s by default).
// A poll reads the secret's metadata only (Manager.Get: one projected store
// read that never fetches the sealed value, and no keeper call). The value is
// opened (Manager.Reveal) only when the metadata shows a new value: another
// Version or RotatedAt, or another CreatedAt, because a secret deleted and
// created again starts again at version 1. Opening a new value costs two
// more store reads, the second one checking that the value read belongs to
// the version the snapshot reports. A description edit is not a new value and
// makes no new snapshot. So a change reaches a watcher at the first poll
// that starts after it: within one WaitDuration plus one poll.
//
// With an audit log on the Manager, every poll is a "get" event and every new
// value a "reveal" event.
//
// While the secret is missing, each poll also runs the keyed listing of the
// Manager's project and environment that coffer's ErrNotFound uses to suggest
// a similar key.
//
// # Snapshots
//
// Snapshot.Value is the value passed through the Variable's decoder (a
// string with runtimevar.StringDecoder). Snapshot.UpdateTime is when the
// value was set: the secret's RotatedAt.
//
// # Errors
//
// Watch reports what the poll met, with a gcerrors code: a missing secret
// (coffer.ErrNotFound) is gcerrors.NotFound, a key or name breaking coffer's
// rules gcerrors.InvalidArgument, a closed Manager and a value the decoder
// rejects (ErrDecode) gcerrors.FailedPrecondition, a value that does not open
// (coffer.ErrDecrypt) gcerrors.Internal; store failures keep the store's
// code. When the secret is created again, its value flows again. Watch
// errors match coffer's sentinels with errors.Is, and Variable.ErrorAs is
// errors.As over coffer's error. No error holds a value: the decoder's own
// message, which may quote the value, is withheld.
//
// # URLs
//
// For runtimevar.OpenVariable, coffervar registers for the scheme "coffer" a
// default opener that opens a Manager from the environment on first use:
// COFFER_STORE_URL and COFFER_KEEPER_URL (as for coffer.Open), and
// optionally COFFER_PROJECT and COFFER_ENV. The Manager lives as long as the
// process. The store's driver must be linked in as for coffer.Open, e.g.
// with a blank import of github.com/coffer-go/coffer/backend/sqldocstore for
// sqlite:// stores. No error holds either URL: a keeper URL may hold key
// material and a store URL a password. To use a Manager of your own, register
// a URLOpener on a runtimevar.URLMux. See URLOpener for the URL's form.
//
// # As
//
// coffervar exposes the following types for As:
//   - Snapshot: coffer.Secret, the metadata of the version the value is (never the value).
//   - Error: any error in coffer's error chain, through errors.As.
package coffervar

import (
	"errors"
	"fmt"
	"time"

	"gocloud.dev/runtimevar"

	"github.com/coffer-go/coffer"
)

// Scheme is the URL scheme coffervar registers its default opener under on
// runtimevar.DefaultURLMux: coffer://KEY?decoder=string.
const Scheme = "coffer"

// DefaultWaitDuration is the polling interval when Options.WaitDuration is 0.
const DefaultWaitDuration = 30 * time.Second

// Options configure a Variable.
type Options struct {
	// WaitDuration is the polling interval; 0 means DefaultWaitDuration.
	// After an error the next poll also waits this long.
	WaitDuration time.Duration
}

// ErrDecode is the error of a value the Variable's decoder rejects. Its
// message names the key and the decoder's error type; it never holds the
// decoder's own message, which may quote the value.
var ErrDecode = errors.New("coffervar: the decoder rejected the secret's value")

// OpenVariable returns a Variable that follows the secret key of m's project
// and environment, decoding each value with decoder (for example
// runtimevar.StringDecoder). opts may be nil. The Variable does not own m:
// closing it leaves m open, and closing m makes the Variable's Watch report
// coffer.ErrClosed.
//
// A missing secret is not an error here: Watch reports it (gcerrors.NotFound)
// until it is created.
func OpenVariable(m *coffer.Manager, key string, decoder *runtimevar.Decoder, opts *Options) (*runtimevar.Variable, error) {
	w, err := newWatcher(m, key, decoder, opts)
	if err != nil {
		return nil, err
	}
	return runtimevar.New(w), nil
}

func newWatcher(m *coffer.Manager, key string, decoder *runtimevar.Decoder, opts *Options) (*watcher, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: coffervar.OpenVariable needs a Manager", coffer.ErrInvalidOptions)
	}
	if decoder == nil {
		return nil, fmt.Errorf("%w: coffervar.OpenVariable needs a decoder, e.g. runtimevar.StringDecoder", coffer.ErrInvalidOptions)
	}
	if err := coffer.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("coffervar: %w", err)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	switch {
	case o.WaitDuration == 0:
		o.WaitDuration = DefaultWaitDuration
	case o.WaitDuration < 0:
		return nil, fmt.Errorf("%w: WaitDuration is %v; use 0 for the default or a positive interval", coffer.ErrInvalidOptions, o.WaitDuration)
	}
	return &watcher{m: m, key: key, decoder: decoder, wait: o.WaitDuration}, nil
}
