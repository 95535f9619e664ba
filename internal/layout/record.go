// Package layout is coffer's stored layout in code: the document a secret
// is kept in (Record), the reserved keyring document, the listing query, and
// the one place driver error codes are read (Is*). The schema itself, a
// compatibility contract, is written down once, in the root package's doc
// ("Stored schema"); package backend opens each driver so that its key
// fields match it.
package layout

import (
	"time"

	"github.com/coffer-go/coffer/backend"
	"gocloud.dev/docstore"
)

// The key fields of the layout, as package backend exports them for teams
// that create tables themselves.
const (
	IDField      = backend.IDField
	PartitionKey = backend.PartitionKey
	SortKey      = backend.SortKey
)

// Record is the stored form of one secret.
type Record struct {
	ID          string
	Scope       string
	Project     string
	Environment string
	Key         string
	Description string
	Type        string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	RotatedAt   time.Time
	CreatedBy   string
	UpdatedBy   string
	Version     int
	// Sealed is the envelope: the value sealed under a data key of the keyring.
	Sealed []byte
	// DocstoreRevision is the driver's revision (int64, UUID string, ...).
	DocstoreRevision any
}

// MetadataFields are the fields Get reads: every field but Sealed, so a
// secret's metadata never fetches a ciphertext (listings read ListFields).
var MetadataFields = []docstore.FieldPath{
	"ID", "Scope", "Project", "Environment", "Key", "Description", "Type",
	"CreatedAt", "UpdatedAt", "RotatedAt", "CreatedBy", "UpdatedBy", "Version",
	"DocstoreRevision",
}

// Scope returns the Scope field for a project and environment.
func Scope(project, environment string) string {
	return project + "/" + environment
}

// ID returns the ID field of the secret key in a project and environment.
func ID(project, environment, key string) string {
	return project + "/" + environment + "/" + key
}

// NewRecord returns a record with the key fields of the secret key in a
// project and environment set: ID, and Scope and Key, which key the
// document on DynamoDB. Every read, write and delete of a secret starts from
// it, so each driver finds the fields it keys on.
func NewRecord(project, environment, key string) *Record {
	return &Record{ID: ID(project, environment, key), Scope: Scope(project, environment), Key: key}
}

// KeyringScope is the Scope of coffer's reserved documents.
const KeyringScope = "#coffer"

// KeyringKey is the Key of the keyring document.
const KeyringKey = "keyring"

// KeyringID is the ID of the keyring document.
const KeyringID = KeyringScope + "/" + KeyringKey

// KeyringRecord is the stored keyring: every data key, wrapped by the keeper,
// and which one seals new values.
type KeyringRecord struct {
	ID     string
	Scope  string
	Key    string
	Active int64
	Keys   []WrappedKey
	// DocstoreRevision guards changes to the keyring (rotation, keeper moves).
	DocstoreRevision any
}

// WrappedKey is one data key as stored: its id and its bytes encrypted by the
// keeper.
type WrappedKey struct {
	ID        int64
	Wrapped   []byte
	CreatedAt time.Time
}

// NewKeyringRecord returns an empty keyring document with its key fields set.
func NewKeyringRecord() *KeyringRecord {
	return &KeyringRecord{ID: KeyringID, Scope: KeyringScope, Key: KeyringKey}
}
