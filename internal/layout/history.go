package layout

import (
	"fmt"
	"strings"
	"time"

	"gocloud.dev/docstore"
)

// HistorySuffix ends the Scope of every version document.
//
// A secret's earlier values are kept as documents of their own, one per
// version, never inside the secret's record: a record with ten values of up
// to 64 KiB would not fit a DynamoDB item (400 KB), and List would carry
// them. The history of the secret with ID p/e/KEY lives under its own
// Scope, p/e/KEY#history, with Key the version number zero-padded to ten
// digits, so:
//
//   - listing a project's environment (Scope p/e) never sees a version,
//     and no project/environment pair can take a history Scope: those hold
//     exactly one "/" and no "#";
//   - a secret's versions are the listing query of its history Scope
//     (ListQuery), in version order: a keyed Query of one partition on
//     DynamoDB, the (Scope, Key) index elsewhere;
//   - every version has one deterministic ID, so two writers keeping the same
//     version write the same document.
//
// A version document carries the CreatedAt of the secret it belongs to, and
// its value is sealed for that place (project, environment, key, CreatedAt):
// a secret deleted and created again has another CreatedAt, so it can
// neither list nor open its predecessor's versions.
const HistorySuffix = "#history"

// versionDigits is the width of a version document's Key: versions sort as
// numbers up to 9,999,999,999.
const versionDigits = 10

// VersionRecord is the stored form of one kept value of a secret.
type VersionRecord struct {
	ID    string
	Scope string
	// Key is the version number, zero-padded to ten digits.
	Key         string
	Project     string
	Environment string
	// SecretKey is the key of the secret the version belongs to.
	SecretKey string
	// CreatedAt is the CreatedAt of that secret: which incarnation of the
	// key the version belongs to. The value is sealed for it.
	CreatedAt time.Time
	Version   int
	// SetAt is when this value was set (the secret's RotatedAt then).
	SetAt time.Time
	// SetBy is who set this value, "" when unknown.
	SetBy string
	// Sealed is the envelope, sealed for the secret's place.
	Sealed []byte
	// DocstoreRevision is the driver's revision.
	DocstoreRevision any
}

// VersionMetadataFields are the fields read to list versions: every field
// but Sealed.
var VersionMetadataFields = []docstore.FieldPath{
	"ID", "Scope", "Key", "Project", "Environment", "SecretKey", "CreatedAt", "Version", "SetAt", "SetBy",
	"DocstoreRevision",
}

// HistoryScope returns the Scope of the version documents of the secret key
// in a project and environment: its ID followed by HistorySuffix.
func HistoryScope(project, environment, key string) string {
	return ID(project, environment, key) + HistorySuffix
}

// IsHistoryScope reports whether scope is the Scope of version documents.
func IsHistoryScope(scope string) bool {
	return strings.HasSuffix(scope, HistorySuffix)
}

// VersionKey returns the Key of a version document.
func VersionKey(version int) string {
	return fmt.Sprintf("%0*d", versionDigits, version)
}

// VersionID returns the ID of a version document.
func VersionID(project, environment, key string, version int) string {
	return HistoryScope(project, environment, key) + "/" + VersionKey(version)
}

// NewVersionRecord returns a version document with its key fields (ID,
// Scope, Key) set, for a read, write or delete.
func NewVersionRecord(project, environment, key string, version int) *VersionRecord {
	scope := HistoryScope(project, environment, key)
	vk := VersionKey(version)
	return &VersionRecord{ID: scope + "/" + vk, Scope: scope, Key: vk}
}

// Consistent reports whether a version document's key fields agree with the
// place and version it names.
func (v *VersionRecord) Consistent() bool {
	return v.Version > 0 && v.ID == VersionID(v.Project, v.Environment, v.SecretKey, v.Version) &&
		v.Scope == HistoryScope(v.Project, v.Environment, v.SecretKey) && v.Key == VersionKey(v.Version)
}
