// Package mongostore opens coffer collections on MongoDB and servers that
// speak its wire protocol (FerretDB, Amazon DocumentDB, Azure Cosmos DB),
// through gocloud.dev/docstore/mongodocstore.
//
// It lives apart from package backend so that programs which do not use
// MongoDB never link its driver. backend.OpenCollection("mongo://DB/COLL")
// opens the same layout from a URL when mongodocstore is blank-imported;
// this package is for programs that already hold a *mongo.Collection.
//
// Layout: one document per secret, keyed by backend.IDField, which
// mongodocstore stores as _id. Queries filter on Scope and order by Key:
// CreateIndex adds the index that serves them.
//
// MongoDB runs each write on its own; coffer needs no transactions. Every
// Update and Delete is revision-checked: a write that lost a race fails and
// coffer reads again.
//
// # FerretDB
//
// FerretDB 1.x applies a revision-checked write as a find, then a write by
// _id, with nothing between them: two writers holding the same revision can
// both succeed and one change is lost. On such a server coffer's collection
// must take claims (package backend/claims): Open asks the server what it
// is and takes them on FerretDB; OpenCollectionWithClaims takes them
// always. Claims live in a second collection, named after the first with
// backend.ClaimsSuffix, and cost each write two more round trips.
package mongostore

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/mongodocstore"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/claims"
)

// IndexName is the name of the index CreateIndex creates.
const IndexName = "coffer_scope_key"

// OpenCollection returns coll as a docstore collection with coffer's
// layout. Closing it does not disconnect the client.
func OpenCollection(coll *mongo.Collection) (*docstore.Collection, error) {
	dc, err := mongodocstore.OpenCollection(coll, backend.IDField, nil)
	if err != nil {
		return nil, fmt.Errorf("coffer: open MongoDB collection: %w", err)
	}
	return dc, nil
}

// CreateIndex creates the index on (Scope, Key) that serves coffer's
// listing query (layout.ListQuery) without a collection scan. It is safe
// to call again: an index that already exists with the same keys is kept.
func CreateIndex(ctx context.Context, coll *mongo.Collection) error {
	_, err := coll.Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys:    bson.D{{Key: backend.PartitionKey, Value: 1}, {Key: backend.SortKey, Value: 1}},
		Options: options.Index().SetName(IndexName),
	})
	if err != nil {
		return fmt.Errorf("coffer: create index %s: %w", IndexName, err)
	}
	return nil
}

// OpenCollectionWithClaims returns coll as a docstore collection with
// coffer's layout whose writes take claims (see package backend/claims) in
// the collection named coll's name and backend.ClaimsSuffix, in the same database.
// Closing it does not disconnect the client.
func OpenCollectionWithClaims(coll *mongo.Collection) (*docstore.Collection, error) {
	docs, err := OpenCollection(coll)
	if err != nil {
		return nil, err
	}
	cc, err := mongodocstore.OpenCollection(coll.Database().Collection(coll.Name()+backend.ClaimsSuffix), claims.IDField, nil)
	if err != nil {
		_ = docs.Close()
		return nil, fmt.Errorf("coffer: open MongoDB claims collection: %w", err)
	}
	dc, err := backend.WithClaims(docs, cc)
	if err != nil {
		return nil, fmt.Errorf("coffer: open MongoDB collection: %w", err)
	}
	return dc, nil
}

// Open returns coll as a docstore collection with coffer's layout, taking
// claims when the server needs them (NeedsClaims). It asks the server once.
func Open(ctx context.Context, coll *mongo.Collection) (*docstore.Collection, error) {
	need, err := NeedsClaims(ctx, coll.Database())
	if err != nil {
		return nil, err
	}
	if need {
		return OpenCollectionWithClaims(coll)
	}
	return OpenCollection(coll)
}

// NeedsClaims reports whether the server behind db applies revision-checked
// writes in two steps, so that coffer's writes must take claims. It asks
// the server's buildInfo: every FerretDB version says so (it reports
// ferretdbVersion), since none has yet been shown to write atomically;
// MongoDB does not.
func NeedsClaims(ctx context.Context, db *mongo.Database) (bool, error) {
	var info bson.M
	if err := db.RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info); err != nil {
		return false, fmt.Errorf("coffer: ask the MongoDB server for buildInfo: %w", err)
	}
	_, ferret := info["ferretdbVersion"]
	return ferret, nil
}
