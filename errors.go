package coffer

import (
	"errors"

	"github.com/coffer-go/coffer/crypto"
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
	// ErrNoChanges: Update was given neither a new value nor a new description.
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
	// ErrInvalidOptions: an Options field is out of range.
	ErrInvalidOptions = errors.New("invalid options")
	// ErrNotFound: no secret has that key in the Manager's project and
	// environment. When a stored key differs only in case or underscores, the
	// message suggests it ("did you mean KEY?").
	ErrNotFound = errors.New("secret not found")
	// ErrAlreadyExists: Create found the key taken.
	ErrAlreadyExists = errors.New("secret already exists")
	// ErrConflict: the record kept changing under an Update or Delete after
	// every retry.
	ErrConflict = errors.New("secret was changed concurrently; try again")
	// ErrDecrypt: a sealed value could not be opened: it was tampered with,
	// copied from another place, or sealed under a key this keeper cannot
	// unwrap.
	ErrDecrypt = crypto.ErrDecrypt
	// ErrClosed: the Manager has been closed.
	ErrClosed = errors.New("coffer: manager is closed")
)
