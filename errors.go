package coffer

import (
	"context"
	"errors"
	"fmt"

	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
)

// Sentinel errors. Every error a Manager returns matches at most a few of
// these with errors.Is; the messages of ErrKeyRequired, ErrValueRequired and
// ErrNoChanges are the Secrets page's own words. No error ever holds a secret
// value.
var (
	// ErrKeyRequired: the secret key is empty.
	ErrKeyRequired = errors.New("secret key is required")
	// ErrValueRequired: Create was given an empty value.
	ErrValueRequired = errors.New("secret value is required")
	// ErrNoChanges: Update was given neither a new value nor a new
	// description, or Rollback the current version.
	ErrNoChanges = errors.New("no changes to save")
	// ErrInvalidKey: the key breaks the key rules; the wrapping error names the
	// offending character and its position.
	ErrInvalidKey = errors.New("invalid secret key")
	// ErrInvalidValue: the value holds a NUL byte, which no environment can carry.
	ErrInvalidValue = errors.New("invalid secret value")
	// ErrInvalidType: the type is not a lower-case identifier.
	ErrInvalidType = errors.New("invalid secret type")
	// ErrDescriptionTooLong: the description is over 1024 characters.
	ErrDescriptionTooLong = errors.New("description is too long")
	// ErrInvalidDescription: the description is not valid UTF-8.
	ErrInvalidDescription = errors.New("invalid description")
	// ErrValueTooLarge: the value is over Options.MaxValueBytes.
	ErrValueTooLarge = errors.New("secret value is too large")
	// ErrInvalidName: a project or environment name breaks the naming rules.
	ErrInvalidName = errors.New("invalid project or environment name")
	// ErrInvalidOptions: an Options field (or Change.IfVersion) is out of
	// range.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrNotFound: no secret has that key in the Manager's project and
	// environment. When a stored key differs only in case or underscores, the
	// message suggests it ("did you mean KEY?").
	ErrNotFound = errors.New("secret not found")
	// ErrAlreadyExists: Create found the key taken.
	ErrAlreadyExists = errors.New("secret already exists")
	// ErrConflict: the record kept changing under an Update or Delete after
	// every retry, or an Update's Change.IfVersion is not the secret's
	// version (check-and-set: it is not retried).
	ErrConflict = errors.New("secret was changed concurrently; try again")
	// ErrDecrypt: a sealed value could not be opened: it was tampered with,
	// copied from another place, or sealed under a key this keeper cannot
	// unwrap.
	ErrDecrypt = crypto.ErrDecrypt
	// ErrClosed: the Manager has been closed.
	ErrClosed = errors.New("coffer: manager is closed")
)

// storeError wraps a store failure. Context errors stay matchable with
// errors.Is; a closed collection reads as ErrClosed.
func storeError(op string, err error) error {
	if layout.IsClosed(err) {
		return fmt.Errorf("%w: %s: %w", ErrClosed, op, err)
	}
	return fmt.Errorf("coffer: %s: %w", op, err)
}

// keyringError maps a failure caused by a closed collection (the keyring
// reads it on first use, on rotation and on keeper changes) to ErrClosed;
// any other error passes unchanged. Operations that reach the store through
// the keyring, or through both paths, map their result with it once.
func keyringError(err error) error {
	if err == nil || errors.Is(err, ErrClosed) || !layout.IsClosed(err) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrClosed, err)
}

// ErrorCode returns the stable snake_case code of the sentinel err matches:
// "key_required", "not_found", "conflict", ... (see errorCodes); "canceled"
// for a context that ended; "error" for anything else, and "" for nil. The
// audit log's outcome and an HTTP layer's error codes both come from here,
// so a code means the same everywhere.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return "canceled"
	}
	return "error"
}

// errorCodes is the one table of sentinels and their codes. coffer's
// sentinels are disjoint, so the order matters only for speed.
var errorCodes = []struct {
	err  error
	code string
}{
	{ErrKeyRequired, "key_required"},
	{ErrValueRequired, "value_required"},
	{ErrNoChanges, "no_changes"},
	{ErrInvalidKey, "invalid_key"},
	{ErrInvalidValue, "invalid_value"},
	{ErrInvalidType, "invalid_type"},
	{ErrDescriptionTooLong, "description_too_long"},
	{ErrInvalidDescription, "invalid_description"},
	{ErrValueTooLarge, "value_too_large"},
	{ErrInvalidName, "invalid_name"},
	{ErrInvalidOptions, "invalid_options"},
	{ErrNotFound, "not_found"},
	{ErrAlreadyExists, "already_exists"},
	{ErrConflict, "conflict"},
	{ErrDecrypt, "decrypt"},
	{ErrClosed, "closed"},
}
