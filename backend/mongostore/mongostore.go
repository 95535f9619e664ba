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
// listing query (backend.ListQuery) without a collection scan. It is safe
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
