package mongostore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/mongodocstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/backend/mongostore"
	"github.com/coffer-go/coffer/internal/testengine"
)

// The suite runs on FerretDB (MongoDB wire protocol) over each of its
// storage backends. FerretDB has no transactions, which coffer does not
// use, and keeps times to the millisecond, as coffer does.

func TestConformanceFerretDBSQLite(t *testing.T) {
	runConformance(t, testengine.Env(t, testengine.MongoSQLiteURL))
}

func TestConformanceFerretDBPostgreSQL(t *testing.T) {
	runConformance(t, testengine.Env(t, testengine.MongoPGURL))
}

func runConformance(t *testing.T, uri string) {
	backendtest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (backendtest.Harness, error) {
		client, err := dial(ctx, t, uri)
		if err != nil {
			return nil, err
		}
		return &harness{client: client, db: client.Database(freshName("coffer_test_"))}, nil
	})
}

// harness makes collections in a database of its own, dropped at Close.
type harness struct {
	client *mongo.Client
	db     *mongo.Database
	n      int
}

func (h *harness) MakeCollection(ctx context.Context, _ *testing.T) (*docstore.Collection, error) {
	h.n++
	coll := h.db.Collection(fmt.Sprintf("secrets_%d", h.n))
	if err := mongostore.CreateIndex(ctx, coll); err != nil {
		return nil, err
	}
	return mongostore.OpenCollection(coll)
}

// NonAtomicRevisions declares what the suite found on FerretDB 1.24: its
// update command queries the document, then writes it by _id in a second
// step, so concurrent revision-checked Replaces of one document can both
// succeed (lost updates; two racing keyring rotations keep one new key).
// MongoDB itself applies a filtered replace atomically per document.
func (h *harness) NonAtomicRevisions() string {
	return "FerretDB 1.x applies a revision-checked replace as a find, then a write by _id"
}

func (h *harness) Close() {
	ctx := context.Background()
	_ = h.db.Drop(ctx)
	_ = h.client.Disconnect(ctx)
}

// freshName returns prefix and random letters, so reruns against long-lived
// engines never meet an earlier run's documents.
func freshName(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:12])
}

// dial connects to uri and pings it with a short timeout: without a server
// the driver would wait out its 30 s server selection on every call.
func dial(ctx context.Context, t *testing.T, uri string) (*mongo.Client, error) {
	client, err := mongodocstore.Dial(ctx, uri)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		_ = client.Disconnect(ctx)
		return nil, fmt.Errorf("ping %s: %w", uri, err)
	}
	return client, nil
}

// TestOpenCollectionURL: backend.OpenCollection's layout for mongo:// URLs
// (id_field=ID) works with the real driver: the secret's ID is the
// document's _id, and an explicit id_field that breaks the layout is refused.
func TestOpenCollectionURL(t *testing.T) {
	uri := testengine.Env(t, testengine.MongoSQLiteURL)
	ctx := context.Background()
	client, err := dial(ctx, t, uri)
	if err != nil {
		t.Fatal(err)
	}
	dbName := freshName("coffer_test_")
	t.Cleanup(func() {
		_ = client.Database(dbName).Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	// mongodocstore's URL opener reads the server from the environment.
	t.Setenv("MONGO_SERVER_URL", uri)
	const keeper = "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	m, err := coffer.Open(ctx, "mongo://"+dbName+"/secrets", keeper, &coffer.Options{Project: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "postgres://x"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	err = client.Database(dbName).Collection("secrets").FindOne(ctx, bson.M{"_id": "shop/default/DATABASE_URL"}).Decode(&raw)
	if err != nil {
		t.Fatalf("find the secret by _id: %v", err)
	}
	if raw["Scope"] != "shop/default" || raw["Key"] != "DATABASE_URL" {
		t.Errorf("stored document %v", raw)
	}
	if _, ok := raw["ID"]; ok {
		t.Error("the ID is stored twice: as _id and as ID")
	}
	if _, err := backend.OpenCollection(ctx, "mongo://"+dbName+"/secrets?id_field=_id"); err == nil {
		t.Error("OpenCollection accepted id_field=_id, which breaks coffer's layout")
	}
}

// TestCreateIndex: the (Scope, Key) index is made once and a second call
// keeps it.
func TestCreateIndex(t *testing.T) {
	uri := testengine.Env(t, testengine.MongoSQLiteURL)
	ctx := context.Background()
	client, err := dial(ctx, t, uri)
	if err != nil {
		t.Fatal(err)
	}
	db := client.Database(freshName("coffer_test_"))
	t.Cleanup(func() {
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	coll := db.Collection("secrets")
	for range 2 {
		if err := mongostore.CreateIndex(ctx, coll); err != nil {
			t.Fatal(err)
		}
	}
	cur, err := coll.Indexes().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var indexes []struct {
		Name string `bson:"name"`
		Key  bson.D `bson:"key"`
	}
	if err := cur.All(ctx, &indexes); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, ix := range indexes {
		if ix.Name == mongostore.IndexName {
			found = append(found, fmt.Sprint(ix.Key))
		}
	}
	if want := fmt.Sprint(bson.D{{Key: "Scope", Value: int32(1)}, {Key: "Key", Value: int32(1)}}); len(found) != 1 || found[0] != want {
		t.Errorf("index %s: %v; want one with keys %s", mongostore.IndexName, found, want)
	}
}
