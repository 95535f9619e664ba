package coffer

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Value is a secret value. Every way of printing or encoding it — fmt verbs,
// JSON, text and slog — shows "[REDACTED]"; convert it with string(v) where
// the value itself is needed.
type Value string

const redacted = "[REDACTED]"

// String returns "[REDACTED]".
func (Value) String() string { return redacted }

// GoString returns "[REDACTED]", for %#v.
func (Value) GoString() string { return redacted }

// Format writes "[REDACTED]" for every verb and flag.
func (Value) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON encodes the value as the JSON string "[REDACTED]".
func (Value) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText encodes the value as "[REDACTED]".
func (Value) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue makes slog record "[REDACTED]".
func (Value) LogValue() slog.Value { return slog.StringValue(redacted) }

// Type says what kind of secret a record holds; it is shown on the Secrets
// page. When NewSecret.Type is empty, it is inferred from the key (InferType).
type Type string

// The types the rules infer. Any other lower-case identifier may be set.
const (
	TypeAPIKey           Type = "api_key"
	TypeConnectionString Type = "connection_string"
	TypeToken            Type = "token"
	TypePassword         Type = "password"
	TypeCredential       Type = "credential"
	TypeEncryptionKey    Type = "encryption_key"
	TypeGeneric          Type = "generic"
)

// NewSecret is what Create takes: the Secrets page's "Add Secret" dialog.
type NewSecret struct {
	Key         string
	Value       Value
	Description string
	Type        Type // empty: inferred from Key
}

// Change is what Update takes: the page's edit dialog. An empty Value keeps
// the current value; a nil Description keeps the current description.
type Change struct {
	Value       Value
	Description *string
	// IfVersion, when not 0, makes the change check-and-set: it applies only
	// while the secret's Version is IfVersion, and otherwise fails with
	// ErrConflict, changing nothing. The edit dialog sends the version it
	// showed, so two people editing one secret never silently overwrite each
	// other. Version counts value changes only: a description edit does not
	// move it.
	IfVersion int
}

// Secret is a secret's metadata. It never holds the value.
type Secret struct {
	Key         string
	Description string
	Project     string
	Environment string
	Type        Type
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// RotatedAt is when the current value was set: CreatedAt until the value
	// is first changed.
	RotatedAt time.Time
	CreatedBy string
	UpdatedBy string
	// Version is 1 at create and grows by one on each value change.
	Version int
}

// Options configure a Manager. The zero value (or nil) gives the defaults.
type Options struct {
	Project          string           // "" means "default"; one platform may host many projects
	Environment      string           // "" means "default"; e.g. "development", "staging", "production"
	MaxValueBytes    int              // 0 means 65536
	RequireUppercase bool             // enforce the UPPERCASE best practice as a rule
	AuditLog         *slog.Logger     // nil: no audit events
	Now              func() time.Time // nil: time.Now
	// MaxVersions is how many versions of each secret are kept, the current
	// one included: 0 means DefaultMaxVersions (10); 1 keeps no history.
	// Each value change keeps the value it replaces, and destroys the values
	// beyond this many. Give every Manager of a collection the same
	// MaxVersions: the one that writes prunes to its own.
	MaxVersions int
}

// DefaultName is the project and environment used when Options leaves them empty.
const DefaultName = "default"
