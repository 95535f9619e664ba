package sqldocstore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"gocloud.dev/gcerrors"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// codedError is an error that carries its gcerrors code, so the portable
// docstore type reports NotFound, AlreadyExists, FailedPrecondition and the
// rest without guessing from text.
type codedError struct {
	code gcerrors.ErrorCode
	msg  string
	err  error
}

func (e *codedError) Error() string { return "sqldocstore: " + e.msg }
func (e *codedError) Unwrap() error { return e.err }

func newError(code gcerrors.ErrorCode, err error, format string, args ...any) error {
	return &codedError{code: code, msg: fmt.Sprintf(format, args...), err: err}
}

// errorCode maps an error from this package, database/sql or a database
// driver to a gcerrors code. It is the one place that mapping lives.
func errorCode(err error) gcerrors.ErrorCode {
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	if c := gcerrors.Code(err); c != gcerrors.Unknown {
		return c
	}
	switch {
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		return gcerrors.DeadlineExceeded
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return gcerrors.ResourceExhausted
		case sqlite3.SQLITE_CONSTRAINT:
			return gcerrors.FailedPrecondition
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return gcerrors.Internal
		}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return gcerrors.AlreadyExists
		case pe.Code == "40001" || pe.Code == "40P01":
			return gcerrors.FailedPrecondition
		case strings.HasPrefix(pe.Code, "23"):
			return gcerrors.FailedPrecondition
		case strings.HasPrefix(pe.Code, "22"):
			return gcerrors.InvalidArgument
		case strings.HasPrefix(pe.Code, "28"):
			return gcerrors.PermissionDenied
		}
	}
	return gcerrors.Unknown
}
