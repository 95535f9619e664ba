package coffer

import (
	"context"
	"errors"
	"iter"

	"github.com/coffer-go/coffer/internal/layout"
)

// errStopped ends a scan whose consumer broke out of its loop.
var errStopped = errors.New("coffer: iteration stopped")

// All streams the metadata of every secret of the Manager's project and
// environment, sorted by key, like List but without holding them all: each
// Secret is read from the store's query as the loop asks for it, so memory
// stays flat however many secrets there are. Like List it never reads a
// sealed value.
//
// A failure (closed Manager, done context, store error) is yielded once as
// (Secret{}, err), after which the sequence ends. Breaking out of the loop
// stops the store query. The sequence can be ranged over more than once;
// each range runs a new query.
func (m *Manager) All(ctx context.Context) iter.Seq2[Secret, error] {
	return func(yield func(Secret, error) bool) {
		var err error
		defer func() { m.audit(ctx, "list", "", err) }()
		if err = m.check(ctx); err != nil {
			yield(Secret{}, err)
			return
		}
		err = m.scan(ctx, layout.ListFields, func(rec *layout.Record) error {
			if !yield(toSecret(rec), nil) {
				return errStopped
			}
			return nil
		})
		if errors.Is(err, errStopped) {
			err = nil
			return
		}
		if err != nil {
			yield(Secret{}, err)
		}
	}
}
