// Package firestorestore opens coffer collections on Google Cloud Firestore
// (native mode), through gocloud.dev/docstore/gcpfirestore.
//
// It lives apart from package backend so that programs which do not use
// Firestore never link its client. Blank-import it to make
// backend.OpenCollection and coffer.Open accept
// firestore://projects/P/databases/D/documents/C URLs; programs that hold a
// client call OpenCollection.
//
// # Document names
//
// A Firestore document name cannot hold "/", and coffer's IDs
// (Project/Environment/Key, and the keyring's #coffer/keyring) do. So each
// document is named from its ID with every "/" replaced by Separator, a
// character no project, environment or key can hold: the secret
// shop/production/DATABASE_URL is the document shop~production~DATABASE_URL
// and the keyring is #coffer~keyring. Firestore reserves names matching
// __.*__; such a name (project "__a", key "B__") is written with a leading
// Separator. DocumentName and ID convert both ways. The document keeps every
// field of coffer's record, ID included: the name is only the key.
//
// # What a Firestore database needs
//
// List, Environ, Require and re-sealing run one query, Scope = s and Key > "",
// ordered by Key. Firestore serves it only from a composite index on
// (Scope ascending, Key ascending) of the collection, which must be created
// before the first listing (the emulator needs none):
//
//	gcloud firestore indexes composite create --database=D --collection-group=C \
//		--field-config=field-path=Scope,order=ascending \
//		--field-config=field-path=Key,order=ascending
//
// A Firestore document holds at most 1 MiB. A secret's document holds one
// sealed value (at most 64 KiB and the envelope's few bytes) and its
// metadata, far below the limit; the keyring document holds one wrapped
// data key per rotation, a few hundred bytes each. A history of values kept
// inside a secret's document would meet the limit at about 15 values of
// 64 KiB.
//
// Each write is checked against the revision coffer read (Firestore's update
// time) and applied atomically; coffer needs no transactions.
package firestorestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"

	vkit "cloud.google.com/go/firestore/apiv1"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/docstore/gcpfirestore"
	"gocloud.dev/gcp"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/internal/openers"
)

func init() {
	openers.Firestore = openURL
}

// Separator stands for "/" in a document name. Project and environment
// names (letters, digits, "-", "_"), keys (letters, digits, "_") and the
// keyring's ID never hold it, so the name of every ID coffer writes is
// unique and converts back.
const Separator = "~"

// reserved matches the document names Firestore reserves.
var reserved = regexp.MustCompile(`^__.*__$`)

// DocumentName returns the name of the Firestore document that holds the
// record with the given ID: the ID with each "/" replaced by Separator, and
// a leading Separator when the result would match Firestore's reserved
// __.*__. It returns "" for an ID that has no name: one that is empty,
// holds Separator, starts with "/" (its name could be an escaped one), or
// is "." or ".." (names Firestore refuses). coffer never writes such an
// ID, and Firestore refuses a document without a name.
func DocumentName(id string) string {
	if id == "" || id == "." || id == ".." || strings.HasPrefix(id, "/") || strings.Contains(id, Separator) {
		return ""
	}
	name := strings.ReplaceAll(id, "/", Separator)
	if reserved.MatchString(name) {
		name = Separator + name
	}
	return name
}

// ErrNotCofferName is returned by ID for a name DocumentName never returns.
var ErrNotCofferName = errors.New("not the name of a coffer document")

// ID returns the ID of the record stored under the document name name:
// the inverse of DocumentName.
func ID(name string) (string, error) {
	id := strings.ReplaceAll(strings.TrimPrefix(name, Separator), Separator, "/")
	if id == "" || DocumentName(id) != name {
		return "", fmt.Errorf("coffer: document name %q: %w", name, ErrNotCofferName)
	}
	return id, nil
}

// nameOf is the collection's name function: the DocumentName of the
// document's ID field. Documents are coffer's record structs or maps.
func nameOf(doc docstore.Document) string {
	d, err := driver.NewDocument(doc)
	if err != nil {
		return ""
	}
	v, err := d.GetField(backend.IDField)
	if err != nil || v == nil {
		return ""
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.String {
		return ""
	}
	return DocumentName(rv.String())
}

// OpenCollection opens the Firestore collection collResourceID
// ("projects/P/databases/D/documents/C") with coffer's layout: documents
// named by DocumentName, the record's fields (ID included) stored as they
// are. The collection needs the composite index on (Scope, Key) described
// in the package doc. Closing it does not close the client.
func OpenCollection(client *vkit.Client, collResourceID string) (*docstore.Collection, error) {
	coll, err := gcpfirestore.OpenCollectionWithNameFunc(client, collResourceID, nameOf, nil)
	if err != nil {
		return nil, fmt.Errorf("coffer: open Firestore collection: %w", err)
	}
	return coll, nil
}

// urlClient is the client of collections opened from URLs: one per process,
// dialled on first use, as gcpfirestore's own URL opener does.
var urlClient struct {
	mu     sync.Mutex
	client *vkit.Client
}

// openURL serves backend.OpenCollection's firestore:// URLs. The client
// reaches the emulator at FIRESTORE_EMULATOR_HOST when that is set, and
// Firestore with Application Default Credentials otherwise. A failed dial
// is not remembered: the next open tries again.
func openURL(ctx context.Context, collResourceID string) (*docstore.Collection, error) {
	urlClient.mu.Lock()
	defer urlClient.mu.Unlock()
	if urlClient.client == nil {
		client, err := dial(ctx)
		if err != nil {
			return nil, fmt.Errorf("coffer: connect to Firestore: %w", err)
		}
		urlClient.client = client
	}
	return OpenCollection(urlClient.client, collResourceID)
}

func dial(ctx context.Context) (*vkit.Client, error) {
	var ts gcp.TokenSource
	if os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			return nil, err
		}
		ts = creds.TokenSource
	}
	client, _, err := gcpfirestore.Dial(ctx, ts)
	return client, err
}
