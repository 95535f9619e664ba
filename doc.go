// Package coffer keeps a project's secrets — API keys, database URLs, tokens,
// passwords — in a gocloud.dev/docstore collection, each value sealed under a
// data key that a gocloud.dev/secrets keeper wraps. It is the engine behind a
// product's "Secrets" settings page (add, list, edit, delete) and behind the
// programs that read those secrets at run time.
//
// # Model
//
// A Manager serves one project and one environment. Create, Get, List,
// Update and Delete are the page's operations; Reveal, Require and Environ
// are a program's. Get and List return Secret, which is metadata only: a
// value leaves coffer only through Reveal and Environ, as a Value whose
// every printed or encoded form is "[REDACTED]". All is List as a stream
// (a range-over-func iterator), for collections too large to hold at once.
// Versions, RevealVersion and Rollback are a secret's history: a rotated
// credential that broke something is rolled back in one call.
//
//	m, err := coffer.Open(ctx, "mem://secrets", "base64key://...", &coffer.Options{Environment: "production"})
//	_, err = m.Create(ctx, coffer.NewSecret{Key: "STRIPE_API_KEY", Value: "sk_live_..."})
//	v, err := m.Reveal(ctx, "STRIPE_API_KEY")
//	use(string(v))
//
// # Rules
//
//   - A key is required ("secret key is required", ErrKeyRequired); it holds
//     ASCII letters, digits and underscores, does not start with a digit and
//     is at most MaxKeyBytes bytes (ErrInvalidKey, naming the offending
//     character and its position, counted from 1).
//     UPPERCASE is the recommended form; Options.RequireUppercase makes it a
//     rule. Keys are case-sensitive: API_KEY and api_key are two secrets.
//     A key never changes; there is no rename.
//   - A value is required on create ("secret value is required",
//     ErrValueRequired), at most Options.MaxValueBytes (DefaultMaxValueBytes
//     by default, ErrValueTooLarge) and holds no NUL byte (ErrInvalidValue).
//   - A description is optional, valid UTF-8 (ErrInvalidDescription) and at
//     most MaxDescriptionChars characters (ErrDescriptionTooLong).
//   - A type is optional. When empty it is inferred from the key (InferType):
//     *_API_KEY is api_key; *_TOKEN token; *_PASSWORD password;
//     AWS_ACCESS_KEY_ID and *_SECRET_ACCESS_KEY credential; *_ENCRYPTION_KEY
//     and *_SIGNING_KEY encryption_key; *_URL, *_DSN and DATABASE_* a
//     connection_string (suffix rules first, so DATABASE_PASSWORD is a
//     password); anything else generic. A set type is a lower-case
//     identifier (ErrInvalidType).
//   - Every problem of one call is reported together, in one error whose
//     message joins them with "; "; each still matches its sentinel with
//     errors.Is. A rejected call changes nothing stored.
//   - Update with an empty value keeps the current value; a nil description
//     keeps the current description. When nothing is new — no value and no
//     description, or the same description — Update returns ErrNoChanges
//     ("no changes to save"). Each value change adds one to Version and sets
//     RotatedAt.
//   - Changes take effect immediately: coffer caches no values, so the next
//     Reveal by any Manager on the collection sees the new value.
//   - Each value change (Update with a value, Rollback) keeps the value it
//     replaces as a version, sealed like the current one and bound to its
//     secret; Options.MaxVersions (DefaultMaxVersions, the current one
//     included) are kept, and older values are destroyed, not hidden.
//     Description edits make no version. Versions lists them newest first
//     (metadata only), RevealVersion reveals one, and Rollback makes an
//     earlier value current again as a new version, keeping the description
//     (ErrNoChanges for the current version, ErrNotFound for a pruned or
//     unknown one).
//   - Change.IfVersion makes an Update check-and-set: it applies only while
//     the secret is at that version, and otherwise fails with ErrConflict at
//     once, changing nothing. The edit dialog sends the version it showed.
//   - Delete is permanent: the record, its ciphertext and every version are
//     removed. A secret created again under the key starts at version 1 and
//     can never list or reveal its predecessor's values.
//   - A missing key gives ErrNotFound; when a stored key differs only in case
//     or underscores, the message asks "did you mean KEY?".
//
// # Errors
//
// Errors match the sentinels of this package with errors.Is; context errors
// pass through (errors.Is(err, context.Canceled)). ErrConflict means a
// record kept changing under an Update or Delete after every retry, or that
// a check-and-set Update found another version (Change.IfVersion);
// ErrDecrypt that a sealed value could not be opened (tampered with, copied
// from elsewhere, or under a keeper that cannot unwrap its data key);
// ErrClosed that the Manager or its collection was closed — every operation
// answers so. ErrorCode gives each sentinel a stable snake_case code
// ("not_found", "conflict", ...), the one the audit log and an HTTP layer
// report. No error holds a secret value or a collection or keeper URL.
//
// # Environments and projects
//
// One collection hosts many projects, each with its own secrets per
// environment, fully isolated: the same key in two environments is two
// secrets, each sealed to its place. Options.Project and Options.Environment
// name them ("" means "default"); Manager.Environment and Manager.Project
// derive Managers that share the collection and keyring. Names are 1 to
// MaxNameLen letters, digits, '-' and '_' (ErrInvalidName).
//
// # Best practices
//
// Manager.Check turns the Secrets page's advice into a report over one or
// more environments: a Finding per secret and broken practice (values not
// rotated within CheckOptions.MaxAge, no description, keys not
// UPPERCASE_WITH_UNDERSCORES or differing from another only in case or
// underscores, keys missing from an environment, one value shared by two
// environments, weak passwords, tokens and keys), each with a message a
// person acts on and never a value. Generate makes strong values.
//
// # Security
//
// Values are sealed with AES-256-GCM under random 256-bit data keys; the data
// keys are stored in the collection wrapped by the keeper, and each
// ciphertext's associated data binds it to its project, environment, key,
// creation time and data-key id, so a ciphertext copied onto another record,
// or onto the same key after it was deleted and created again, fails with
// ErrDecrypt (package crypto documents the envelope). The store sees only
// ciphertext and metadata. A Manager unwraps the keyring once and keeps the
// data keys in memory: after that, no keeper call per operation. Value
// redacts itself in fmt, JSON, text and slog; audit events (Options.AuditLog)
// carry the operation, project, environment, key, actor (WithActor) and
// outcome, never a value.
//
// # Rotation and keepers
//
// RotateDataKey adds a data key and makes it active; values sealed under
// older keys still open. Reseal then seals every record of the collection
// (all projects and environments) under the active key, in batches,
// revision-checked and resumable, reporting progress. ChangeKeeper moves the
// keyring to another keeper (a KMS migration) by re-wrapping the data keys,
// without touching any record. A Manager re-reads the keyring document (one
// store read, no keeper call) when its copy is older than
// crypto.RefreshInterval, so a rotation made elsewhere reaches its writes
// within that bound; a data key it has not seen is loaded the first time a
// value needs it.
//
// # Concurrency
//
// A Manager is safe for concurrent use, and several Managers (in one process
// or many) may share a collection. Update and Delete are read-modify-writes
// under the store's revision, retried on conflict (a bounded number of
// times, after a short random wait), so concurrent updates of value and description never
// lose either; an Update that keeps losing returns ErrConflict having changed
// nothing. Of racing Creates of one key exactly one wins; the others get
// ErrAlreadyExists. This relies on the store checking a write's revision
// atomically, as MongoDB, DynamoDB, Firestore, memdocstore and coffer's SQL
// driver do. FerretDB 1.x does not (it finds the document, then writes it
// by _id): there coffer's writes must take claims (package backend/claims;
// mongo://DB/COLL?claims=true, or mongostore.Open, which detects FerretDB),
// or concurrent writes to one secret, or two data-key rotations at once,
// can lose one of them.
//
// # Versions
//
// coffer uses no transactions, so a value change writes in an order that
// makes every interruption harmless: first the version document of the
// value being replaced (its ID is fixed by the version, so two writers
// replacing one version write the same document), then the
// revision-checked Replace of the record, then the deletion of the version
// that fell out of the last MaxVersions. Interrupted after the first write,
// the store holds a version document of the current value, which no listing
// shows and the next value change reuses; after the second, one version too
// many, which Versions hides and destroys. Delete removes the record first —
// the secret stops listing at once — then its versions; what an interrupted
// Delete leaves is bound to the deleted secret's creation time, so a secret
// created again never lists or opens it, and the next Delete or Versions of
// the key destroys it (Delete of a missing key finishes an interrupted one,
// then answers ErrNotFound). The first description edit after a value change
// records who set the value in that value's version document, since the
// record's UpdatedBy is about to change; that is one more store write for
// that edit only. MaxVersions is a Manager's option: give every Manager of
// a collection the same one, as the one that writes prunes to its own.
//
// # Stored schema
//
// One document per secret, with exactly these fields (a compatibility
// contract; it changes only with a migration):
//
//	ID               string     Project + "/" + Environment + "/" + Key
//	Scope            string     Project + "/" + Environment
//	Project          string
//	Environment      string
//	Key              string
//	Description      string
//	Type             string
//	CreatedAt        time       UTC, millisecond precision on every store
//	UpdatedAt        time
//	RotatedAt        time       when the current value was set
//	CreatedBy        string     the actor of WithActor
//	UpdatedBy        string
//	Version          int        1 at create, +1 on each value change
//	Sealed           bytes      the envelope (package crypto)
//	DocstoreRevision any        the driver's revision
//
// Each kept version of a value is one more document (also a compatibility
// contract). A secret's versions share one Scope, its ID followed by
// "#history", which no project/environment pair can take (those hold one
// "/" and no "#"), so listing a Scope never meets them and a secret's
// versions are one keyed query, like List; each document stands alone, so
// ten values of the largest size fit every store (a DynamoDB item holds
// 400 KB):
//
//	ID               string     Scope + "/" + Key
//	Scope            string     Project + "/" + Environment + "/" + SecretKey + "#history"
//	Key              string     the version, zero-padded to 10 digits ("0000000003")
//	Project          string
//	Environment      string
//	SecretKey        string     the secret's Key
//	CreatedAt        time       the secret's CreatedAt: which secret of that key it belongs to
//	Version          int        the version it was, as Secret.Version counted
//	SetAt            time       when this value was set (the secret's RotatedAt then)
//	SetBy            string     who set it; "" when unknown
//	Sealed           bytes      the envelope, sealed for the secret's place (its CreatedAt included)
//	DocstoreRevision any        the driver's revision
//
// A version document whose CreatedAt is not its secret's current CreatedAt
// belongs to an earlier secret of the key, deleted and created again, and is
// never shown or opened. A store written before coffer kept versions has
// none: its secrets list their current version only until their next value
// change, and nothing needs migrating.
//
// The keyring is one more document, ID "#coffer/keyring", Scope "#coffer",
// which no project/environment pair can take. Package backend owns the
// per-driver layout: the ID as key on memdocstore and MongoDB; on Firestore,
// whose document names cannot hold "/", the document name is the ID with
// each "/" replaced by "~" (which no project, environment or key holds; see
// backend/firestorestore), with the ID still stored as a field; partition
// key Scope and sort key Key on DynamoDB; an index on (Scope, Key)
// elsewhere (a composite index on Firestore). List is the query Scope = s,
// Key > "", ordered by Key, projected onto every field but Sealed: listing
// never fetches a ciphertext.
//
// # Backends
//
// Open takes a collection URL (mem://NAME; mongo://DB/COLL, with ?claims=true
// on FerretDB; dynamodb://TABLE; firestore://projects/P/databases/D/documents/C;
// sqlite:///PATH and postgres://... with backend/sqldocstore) and a keeper
// URL (see Keepers). coffer links only memdocstore; blank-import the gocloud
// driver of any other scheme (for firestore://, package
// github.com/coffer-go/coffer/backend/firestorestore instead):
//
//	import _ "gocloud.dev/docstore/mongodocstore"
//
// Programs that hold a client rather than a URL use backend/mongostore
// (OpenCollection, CreateIndex), backend/dynamostore (CreateTable,
// OpenCollection) or backend/firestorestore (OpenCollection);
// backend/backendtest is the conformance suite every backend passes.
//
// mem:// collections are in memory, shared by name within the process and
// never durable: use them for tests and demos (package coffertest gives a
// ready Manager).
//
// # Keepers
//
// Open takes a keeper URL. coffer links only gocloud.dev/secrets/localsecrets
// (base64key://KEY); for the others, blank-import the driver, as with gocloud:
//
//	import _ "gocloud.dev/secrets/awskms"         // awskms://alias/coffer?region=eu-west-2
//	import _ "gocloud.dev/secrets/gcpkms"         // gcpkms://projects/P/locations/L/keyRings/R/cryptoKeys/K
//	import _ "gocloud.dev/secrets/azurekeyvault"  // azurekeyvault://VAULT.vault.azure.net/keys/KEY
//	import _ "gocloud.dev/secrets/hashivault"     // hashivault://KEY (VAULT_ADDR, VAULT_TOKEN)
//
// Vault's transit engine creates a missing key on the first encrypt, so a
// typo in the key name silently makes a new key: the keyring is then wrapped
// by that key, and a Manager given the intended name cannot read it. Create
// the key beforehand and give the application's Vault policy only the
// "update" capability on transit/encrypt/KEY (not "create"), or turn
// upserting off for the mount (disable_upserting on transit/config/keys, in
// Vault versions that have it): Vault then refuses an unknown key instead of
// creating it. AWS KMS unwraps a ciphertext of any key the credentials may use, so
// the key in an awskms:// URL chooses how new data keys are wrapped, not who
// may unwrap them: use key policies, and encryption context (context_NAME=VALUE
// URL parameters) to tie a keyring to one keeper. Cloud KMS (gcpkms://)
// answers a misspelt key name with NotFound on the first write, and a
// disabled key version with FailedPrecondition (wrapped in ErrDecrypt when
// a data key cannot be unwrapped); Managers that already unwrapped the
// keyring keep their data keys in memory until they restart.
package coffer
