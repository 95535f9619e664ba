package layout

import (
	"strings"

	"gocloud.dev/gcerrors"
)

// How drivers report the outcome of a write differs; these functions are the
// one place coffer reads driver errors. The root package maps their answers
// to its sentinel errors (ErrNotFound, ErrAlreadyExists, ErrConflict,
// ErrClosed).

// IsConflict reports whether a revision-checked Replace or Delete did not
// apply because the document changed or went away since it was read. The
// caller must read again: the read tells a lost race (the document is there,
// with a newer revision) from a delete (the read says not found).
//
// Drivers disagree on the code: memdocstore, DynamoDB and a stale Delete on
// MongoDB answer FailedPrecondition; mongodocstore answers a stale-revision
// Replace with NotFound, since its filter (ID and revision) matched nothing.
// So NotFound from a revision-checked write is a conflict, never "the secret
// does not exist" on its own.
func IsConflict(err error) bool {
	switch gcerrors.Code(err) {
	case gcerrors.FailedPrecondition:
		return !IsClosed(err)
	case gcerrors.NotFound:
		return true
	}
	return false
}

// IsNotFound reports whether a Get found no document with that key.
func IsNotFound(err error) bool {
	return gcerrors.Code(err) == gcerrors.NotFound
}

// IsAlreadyExists reports whether a Create found its key taken.
func IsAlreadyExists(err error) bool {
	return gcerrors.Code(err) == gcerrors.AlreadyExists
}

// IsClosed reports whether the collection was closed before the call.
// docstore answers every call on a closed collection with
// FailedPrecondition and a message saying so; that is not a conflict.
func IsClosed(err error) bool {
	return gcerrors.Code(err) == gcerrors.FailedPrecondition && strings.Contains(err.Error(), "Collection has been closed")
}
