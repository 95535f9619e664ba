package mongostore_test

import (
	"context"
	"crypto/rand"
	"errors"
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
	// FerretDB's writes are not atomic (see package backend/claims): the
	// suite passes on it only because Open takes claims there.
	need, err := mongostore.NeedsClaims(ctx, h.db)
	if err != nil {
		return nil, err
	}
	if !need {
		return nil, fmt.Errorf("FerretDB did not report itself in buildInfo, so Open would not take claims")
	}
	return mongostore.Open(ctx, coll)
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
func dial(ctx context.Context, t testing.TB, uri string) (*mongo.Client, error) {
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

// freshDB returns a new database on the server at uri, dropped (and the
// client disconnected) when the test ends.
func freshDB(ctx context.Context, t testing.TB, uri string) *mongo.Database {
	t.Helper()
	client, err := dial(ctx, t, uri)
	if err != nil {
		t.Fatal(err)
	}
	db := client.Database(freshName("coffer_test_"))
	t.Cleanup(func() {
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	return db
}

// TestOpenCollectionURL: backend.OpenCollection's layout for mongo:// URLs
// (id_field=ID) works with the real driver: the secret's ID is the
// document's _id, and an explicit id_field that breaks the layout is refused.
func TestOpenCollectionURL(t *testing.T) {
	uri := testengine.Env(t, testengine.MongoSQLiteURL)
	ctx := context.Background()
	db := freshDB(ctx, t, uri)
	client, dbName := db.Client(), db.Name()
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
	ctx := context.Background()
	db := freshDB(ctx, t, testengine.Env(t, testengine.MongoSQLiteURL))
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

// TestOpenCollectionURLClaims: mongo://DB/COLL?claims=true wraps the
// collection: a claim held by another writer in COLL_claims holds up an
// Update, and the Manager's writes leave no claim behind.
func TestOpenCollectionURLClaims(t *testing.T) {
	uri := testengine.Env(t, testengine.MongoPGURL)
	ctx := context.Background()
	db := freshDB(ctx, t, uri)
	dbName := db.Name()
	t.Setenv("MONGO_SERVER_URL", uri)
	const keeper = "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4="
	m, err := coffer.Open(ctx, "mongo://"+dbName+"/secrets?claims=true", keeper, &coffer.Options{Project: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "API_TOKEN", Value: "t1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Update(ctx, "API_TOKEN", coffer.Change{Value: "t2"}); err != nil {
		t.Fatal(err)
	}
	if err := m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	claimsColl := db.Collection("secrets" + backend.ClaimsSuffix)
	if n, err := claimsColl.CountDocuments(ctx, bson.M{}); err != nil || n != 0 {
		t.Errorf("claims left after Update and RotateDataKey: %d, %v", n, err)
	}

	// Another writer holds the secret's claim: an Update waits on it and,
	// when its context ends first, changes nothing.
	if _, err := claimsColl.InsertOne(ctx, bson.M{"_id": "shop/default/API_TOKEN#0", "Holder": "other"}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if _, err := m.Update(short, "API_TOKEN", coffer.Change{Value: "t3"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update under another writer's claim: %v, want context.DeadlineExceeded", err)
	}
	if v, err := m.Reveal(ctx, "API_TOKEN"); err != nil || v != "t2" {
		t.Errorf("Reveal = %v, %v; want the value before the held-up Update", err, v == "t2")
	}
	if _, err := claimsColl.DeleteOne(ctx, bson.M{"_id": "shop/default/API_TOKEN#0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, "API_TOKEN"); err != nil {
		t.Fatal(err)
	}
	if n, err := claimsColl.CountDocuments(ctx, bson.M{}); err != nil || n != 0 {
		t.Errorf("claims left after Delete: %d, %v", n, err)
	}
}

// TestNeedsClaims: FerretDB reports itself, so coffer takes claims there.
func TestNeedsClaims(t *testing.T) {
	for _, uri := range []string{testengine.Env(t, testengine.MongoSQLiteURL), testengine.Env(t, testengine.MongoPGURL)} {
		ctx := context.Background()
		client, err := dial(ctx, t, uri)
		if err != nil {
			t.Fatal(err)
		}
		need, err := mongostore.NeedsClaims(ctx, client.Database(freshName("coffer_test_")))
		_ = client.Disconnect(ctx)
		if err != nil || !need {
			t.Errorf("NeedsClaims on FerretDB = %v, %v; want true", need, err)
		}
	}
}
