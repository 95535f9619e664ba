package backend

import (
	"context"
	"fmt"
	"net/url"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"

	"github.com/coffer-go/coffer/internal/redact"
)

// layout says, per URL scheme, which query parameters make a driver key its
// documents the way coffer's Record expects. Drivers not linked into the
// program are still named here: the user blank-imports the driver (as with
// any gocloud URL) and OpenCollection adds the layout.
var layout = map[string]url.Values{
	// memdocstore takes its key field from the URL path: mem://NAME/ID.
	"mem": nil,
	// MongoDB, Amazon DocumentDB, Azure Cosmos DB (mongodocstore).
	"mongo": {"id_field": {"ID"}},
	// DynamoDB: partition key Scope and sort key Key, so List is a keyed Query.
	"dynamodb": {"partition_key": {"Scope"}, "sort_key": {"Key"}, "allow_scans": {"true"}},
	// Firestore keeps the ID in the document name.
	"firestore": {"name_field": {"ID"}},
	// coffer's SQL driver (backend/sqldocstore).
	"sqlite":   {"key_field": {"ID"}},
	"postgres": {"key_field": {"ID"}},
}

// OpenCollection opens the collection at a coffer URL (mem://NAME,
// mongo://DB/COLL, dynamodb://TABLE, firestore://projects/P/databases/D/documents/C,
// sqlite:///PATH, postgres://...) with coffer's layout. The URL names no key
// field: OpenCollection adds it. The caller owns the collection and closes it;
// several Managers may share one.
//
// mem:// collections are memdocstore collections shared by name within the
// process; they are never durable. Other schemes need their gocloud driver
// linked in with a blank import, as with docstore.OpenCollection. No error
// holds the URL.
func OpenCollection(ctx context.Context, rawURL string) (*docstore.Collection, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	params, ok := layout[u.Scheme]
	if !ok {
		return nil, redact.Error("coffer: open collection", rawURL, fmt.Errorf("unsupported scheme; want one of mem, mongo, dynamodb, firestore, sqlite, postgres"))
	}
	if u.Scheme == "mem" {
		return openMem(ctx, u, rawURL)
	}
	q := u.Query()
	for name, want := range params {
		if got := q.Get(name); got != "" && got != want[0] {
			return nil, redact.Error("coffer: open collection", rawURL, fmt.Errorf("query parameter %s must be %q for coffer's layout (or left out)", name, want[0]))
		}
		q.Set(name, want[0])
	}
	u.RawQuery = q.Encode()
	coll, err := docstore.OpenCollection(ctx, u.String())
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
	coll, err := memOpener.OpenCollectionURL(ctx, &url.URL{Scheme: "mem", Host: u.Host, Path: "/ID"})
	if err != nil {
		return nil, redact.Error("coffer: open collection", rawURL, err)
	}
	return coll, nil
}

// OpenMemCollection returns a new, unnamed in-memory collection with coffer's
// layout, for tests and demos.
func OpenMemCollection() (*docstore.Collection, error) {
	return memdocstore.OpenCollection("ID", nil)
}
