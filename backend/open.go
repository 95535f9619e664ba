package backend

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"

	"github.com/coffer-go/coffer/backend/claims"
	"github.com/coffer-go/coffer/internal/openers"
	"github.com/coffer-go/coffer/internal/redact"
)

// ClaimsParam is the query parameter of a mongo:// URL that makes the
// collection's writes take claims (package backend/claims), as FerretDB 1.x
// needs: mongo://DB/COLL?claims=true. The claims live in the collection
// COLL + ClaimsSuffix of the same database.
const ClaimsParam = "claims"

// ClaimsSuffix ends the name of the collection that keeps a collection's
// claims: secrets keeps them in secrets_claims.
const ClaimsSuffix = "_claims"

// The key fields of coffer's layout: what a team names when it creates a
// table or an index itself. Every driver is keyed by one of them.
const (
	// IDField is the key of memdocstore, MongoDB (stored as _id), Firestore
	// (the document name is derived from it: backend/firestorestore) and
	// coffer's SQL driver.
	IDField = "ID"
	// PartitionKey is DynamoDB's partition (hash) key: all secrets of one
	// project and environment share a partition.
	PartitionKey = "Scope"
	// SortKey is DynamoDB's sort (range) key, so List is a keyed Query that
	// returns keys in order. Other stores index (PartitionKey, SortKey).
	SortKey = "Key"
)

// driverLayout says, per URL scheme, which query parameters make a driver key its
// documents the way coffer's Record expects. It is the one place the layout
// per driver is written down. Drivers not linked into the program are still
// named here: the user blank-imports the driver (as with any gocloud URL) and
// OpenCollection adds the layout.
var driverLayout = map[string]url.Values{
	// memdocstore takes its key field from the URL path: mem://NAME/ID.
	"mem": nil,
	// MongoDB, Amazon DocumentDB, Azure Cosmos DB (mongodocstore).
	"mongo": {"id_field": {IDField}},
	// DynamoDB: partition key Scope and sort key Key, so List is a keyed
	// Query. Scans are allowed for whole-collection jobs (re-sealing).
	// Reads are strongly consistent: DynamoDB's default, eventually
	// consistent reads could serve a value another Manager has just
	// replaced, breaking "changes take effect immediately".
	"dynamodb": {
		"partition_key":   {PartitionKey},
		"sort_key":        {SortKey},
		"allow_scans":     {"true"},
		"consistent_read": {"true"},
	},
	// Firestore names each document from its ID, with "/" (which a
	// document name cannot hold) replaced by "~", which no project,
	// environment or key can hold: shop~production~DATABASE_URL. The name
	// is computed (package backend/firestorestore), not a field of its own,
	// so the URL takes no parameters; List needs a composite index on
	// (Scope, Key).
	"firestore": nil,
	// coffer's SQL driver (backend/sqldocstore): the ID as key column and an
	// index on (Scope, Key), the List access path.
	"sqlite":     {"key_field": {IDField}, "index": {PartitionKey + "," + SortKey}},
	"postgres":   {"key_field": {IDField}, "index": {PartitionKey + "," + SortKey}},
	"postgresql": {"key_field": {IDField}, "index": {PartitionKey + "," + SortKey}},
}

// defaults are query parameters a URL may set but need not: the SQL
// driver's table name.
var defaults = map[string]url.Values{
	"sqlite":     {"table": {DefaultTable}},
	"postgres":   {"table": {DefaultTable}},
	"postgresql": {"table": {DefaultTable}},
}

// DefaultTable is the SQL table coffer uses when a sqlite:// or postgres://
// URL names none.
const DefaultTable = "coffer_secrets"

// OpenCollection opens the collection at a coffer URL (mem://NAME,
// mongo://DB/COLL, dynamodb://TABLE, firestore://projects/P/databases/D/documents/C,
// sqlite:///PATH, postgres://...) with coffer's layout. The URL names no key
// field: OpenCollection adds it. The caller owns the collection and closes it;
// several Managers may share one.
//
// mem:// collections are memdocstore collections shared by name within the
// process; they are never durable. Other schemes need their gocloud driver
// linked in with a blank import, as with docstore.OpenCollection; firestore://
// needs package backend/firestorestore instead, which names each document
// from its ID (a Firestore name cannot hold "/"). No error holds the URL.
//
// A mongo:// URL may add claims=true (ClaimsParam): on a server whose
// revision-checked writes are not atomic, such as FerretDB 1.x, writes then
// take claims, so no concurrent change is lost. The returned collection
// owns the claims collection too.
func OpenCollection(ctx context.Context, rawURL string) (*docstore.Collection, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	params, ok := driverLayout[u.Scheme]
	if !ok {
		return nil, redact.Error("coffer: open collection", rawURL, fmt.Errorf("unsupported scheme; want one of mem, mongo, dynamodb, firestore, sqlite, postgres"))
	}
	switch u.Scheme {
	case "mem":
		return openMem(ctx, u, rawURL)
	case "firestore":
		return openFirestore(ctx, u, rawURL)
	}
	withClaims, err := takeClaimsParam(u)
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	withLayout, err := applyLayout(u, params)
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	coll, err := docstore.OpenCollection(ctx, withLayout.String())
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	if !withClaims {
		return coll, nil
	}
	claimsURL := *withLayout
	claimsURL.Path = strings.TrimSuffix(claimsURL.Path, "/") + ClaimsSuffix
	cc, err := docstore.OpenCollection(ctx, claimsURL.String())
	if err != nil {
		_ = coll.Close()
		return nil, redact.Error("coffer: open claims collection", rawURL, err)
	}
	wrapped, err := WithClaims(coll, cc)
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	return wrapped, nil
}

// WithClaims returns coll, a collection with coffer's layout, wrapped so
// that its writes take claims in cc (see package backend/claims); cc is
// keyed by claims.IDField. The result owns both; on error both are closed.
func WithClaims(coll, cc *docstore.Collection) (*docstore.Collection, error) {
	wrapped, err := claims.Wrap(coll, cc, IDField, nil)
	if err != nil {
		_ = coll.Close()
		_ = cc.Close()
		return nil, err
	}
	return wrapped, nil
}

// takeClaimsParam removes ClaimsParam from u's query and reports whether it
// asked for claims. It is for mongo:// URLs only, given at most once, true
// or false.
func takeClaimsParam(u *url.URL) (bool, error) {
	q := u.Query()
	vs, ok := q[ClaimsParam]
	if !ok {
		return false, nil
	}
	if u.Scheme != "mongo" {
		return false, fmt.Errorf("query parameter %s is for mongo:// URLs only", ClaimsParam)
	}
	if len(vs) != 1 || (vs[0] != "true" && vs[0] != "false") {
		return false, fmt.Errorf("query parameter %s must be given once, as true or false", ClaimsParam)
	}
	q.Del(ClaimsParam)
	u.RawQuery = q.Encode()
	return vs[0] == "true", nil
}

// applyLayout returns u with the layout's query parameters set. A parameter
// the user already set must agree with the layout: a collection keyed any
// other way would not find coffer's documents.
func applyLayout(u *url.URL, params url.Values) (*url.URL, error) {
	q := u.Query()
	for name, v := range defaults[u.Scheme] {
		if q.Get(name) == "" {
			q.Set(name, v[0])
		}
	}
	for name, want := range params {
		if got := q.Get(name); got != "" && got != want[0] {
			return nil, fmt.Errorf("query parameter %s must be %q for coffer's layout (or left out)", name, want[0])
		}
		q.Set(name, want[0])
	}
	out := *u
	out.RawQuery = q.Encode()
	return &out, nil
}

// firestorePackage is the package that serves firestore:// URLs.
const firestorePackage = "github.com/coffer-go/coffer/backend/firestorestore"

// openFirestore opens firestore://projects/P/databases/D/documents/C
// through package backend/firestorestore, which names documents from their
// IDs. The driver's own URL parameters (name_field, revision_field) would
// break that layout, so none is accepted.
func openFirestore(ctx context.Context, u *url.URL, rawURL string) (*docstore.Collection, error) {
	if u.RawQuery != "" || u.User != nil || u.Fragment != "" {
		return nil, redact.Error("coffer: open collection", rawURL, errors.New("a Firestore collection URL takes no query parameters (each name is derived from the record's ID)"))
	}
	if openers.Firestore == nil {
		return nil, redact.Error("coffer: open collection", rawURL, fmt.Errorf("firestore:// needs package %s: blank-import it", firestorePackage))
	}
	coll, err := openers.Firestore(ctx, path.Join(u.Host, u.Path))
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	return coll, nil
}

// memOpener shares mem:// collections by name within the process.
var memOpener memdocstore.URLOpener

func openMem(ctx context.Context, u *url.URL, rawURL string) (*docstore.Collection, error) {
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return nil, redact.Error("coffer: open collection", rawURL, fmt.Errorf("a memory collection URL is mem://NAME with nothing after the name"))
	}
	coll, err := memOpener.OpenCollectionURL(ctx, &url.URL{Scheme: "mem", Host: u.Host, Path: "/" + IDField})
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	return coll, nil
}

// OpenMemCollection returns a new, unnamed in-memory collection with coffer's
// layout, for tests and demos.
func OpenMemCollection() (*docstore.Collection, error) {
	return memdocstore.OpenCollection(IDField, nil)
}
