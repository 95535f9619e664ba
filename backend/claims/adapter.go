// This file adapts the wrapped collection to docstore's driver interface:
// reads, queries and revisions pass through; writes go to the claim
// protocol in claims.go.

package claims

import (
	"context"
	"errors"
	"strings"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
)

// Key implements driver.Collection.
func (c *collection) Key(doc driver.Document) (any, error) {
	if c.keyFunc != nil {
		return c.keyFunc(doc.Origin), nil
	}
	k, err := doc.GetField(c.keyField)
	if err != nil {
		// A document without its key field may still be created: the
		// wrapped store makes a key or refuses.
		return nil, nil
	}
	return k, nil
}

// RevisionField implements driver.Collection.
func (c *collection) RevisionField() string { return c.revField }

// RunActions implements driver.Collection. Gets that must come before the
// writes run first, then the writes, then the Gets that must see them.
func (c *collection) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	errs := make([]error, len(actions))
	before, gets, writes, atomic, after := driver.GroupActions(actions)
	c.runPlain(ctx, append(before, gets...), opts, errs)
	c.runWrites(ctx, writes, opts, errs)
	c.runAtomic(ctx, atomic, opts, errs)
	c.runPlain(ctx, after, opts, errs)
	var alerr driver.ActionListError
	for _, a := range actions {
		if err := errs[a.Index]; err != nil {
			alerr = append(alerr, struct {
				Index int
				Err   error
			}{a.Index, err})
		}
	}
	return alerr
}

// innerList adds actions, atomic or not, to a new action list of the wrapped collection.
func (c *collection) innerList(actions []*driver.Action, atomic bool, opts *driver.RunActionsOptions) *docstore.ActionList {
	l := c.docs.Actions()
	if atomic {
		// It applies to the writes added after it.
		l.AtomicWrites()
	}
	if opts != nil && opts.BeforeDo != nil {
		l.BeforeDo(opts.BeforeDo)
	}
	for _, a := range actions {
		doc := a.Doc.Origin
		switch a.Kind {
		case driver.Get:
			l.Get(doc, fieldPaths(a.FieldPaths)...)
		case driver.Create:
			l.Create(doc)
		case driver.Replace:
			l.Replace(doc)
		case driver.Put:
			l.Put(doc)
		case driver.Delete:
			l.Delete(doc)
		case driver.Update:
			mods := docstore.Mods{}
			for _, m := range a.Mods {
				mods[docstore.FieldPath(strings.Join(m.FieldPath, "."))] = m.Value
			}
			l.Update(doc, mods)
		}
	}
	return l
}

func fieldPaths(fps [][]string) []docstore.FieldPath {
	out := make([]docstore.FieldPath, len(fps))
	for i, fp := range fps {
		out[i] = docstore.FieldPath(strings.Join(fp, "."))
	}
	return out
}

// runPlain runs actions on the wrapped collection as they are, setting each
// one's error in errs.
func (c *collection) runPlain(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions, errs []error) {
	if len(actions) == 0 {
		return
	}
	c.spread(c.innerList(actions, false, opts).Do(ctx), actions, errs)
}

// spread sets the errors of an inner Do of actions in errs.
func (c *collection) spread(err error, actions []*driver.Action, errs []error) {
	if err == nil {
		return
	}
	var alerr docstore.ActionListError
	if !errors.As(err, &alerr) {
		for _, a := range actions {
			errs[a.Index] = err
		}
		return
	}
	for _, e := range alerr {
		if e.Index >= 0 && e.Index < len(actions) {
			errs[actions[e.Index].Index] = e.Err
		} else {
			for _, a := range actions {
				errs[a.Index] = e.Err
			}
		}
	}
}

// RunGetQuery implements driver.Collection: queries go to the wrapped
// collection.
func (c *collection) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	return &iterator{it: c.innerQuery(q).Get(ctx, fieldPaths(q.FieldPaths)...)}, nil
}

func (c *collection) innerQuery(q *driver.Query) *docstore.Query {
	iq := c.docs.Query()
	for _, f := range q.Filters {
		iq.Where(docstore.FieldPath(strings.Join(f.FieldPath, ".")), f.Op, f.Value)
	}
	if q.OrderByField != "" {
		dir := docstore.Descending
		if q.OrderAscending {
			dir = docstore.Ascending
		}
		iq.OrderBy(q.OrderByField, dir)
	}
	if q.Offset > 0 {
		iq.Offset(q.Offset)
	}
	if q.Limit > 0 {
		iq.Limit(q.Limit)
	}
	if q.BeforeQuery != nil {
		iq.BeforeQuery(q.BeforeQuery)
	}
	return iq
}

// iterator is the wrapped collection's iterator as a driver's.
type iterator struct{ it *docstore.DocumentIterator }

func (i *iterator) Next(ctx context.Context, doc driver.Document) error {
	return i.it.Next(ctx, doc.Origin)
}
func (i *iterator) Stop()              { i.it.Stop() }
func (i *iterator) As(target any) bool { return i.it.As(target) }

// QueryPlan implements driver.Collection: the wrapped collection's plan.
func (c *collection) QueryPlan(q *driver.Query) (string, error) {
	return c.innerQuery(q).Plan(fieldPaths(q.FieldPaths)...)
}

// RevisionToBytes implements driver.Collection.
func (c *collection) RevisionToBytes(rev any) ([]byte, error) {
	s, err := c.docs.RevisionToString(rev)
	return []byte(s), err
}

// BytesToRevision implements driver.Collection.
func (c *collection) BytesToRevision(b []byte) (any, error) {
	return c.docs.StringToRevision(string(b))
}

// As implements driver.Collection: the wrapped collection's As.
func (c *collection) As(i any) bool { return c.docs.As(i) }

// ErrorAs implements driver.Collection: the wrapped collection's ErrorAs.
func (c *collection) ErrorAs(err error, i any) bool { return c.docs.ErrorAs(err, i) }

// ErrorCode implements driver.Collection. Errors of the two collections
// keep their codes.
func (c *collection) ErrorCode(err error) gcerrors.ErrorCode {
	var ce *claimError
	if errors.As(err, &ce) {
		return ce.code
	}
	return gcerrors.Code(err)
}

// Close implements driver.Collection: it closes both collections.
func (c *collection) Close() error {
	return errors.Join(c.docs.Close(), c.claims.Close())
}
