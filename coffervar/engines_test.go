package coffervar

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/mongodocstore"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/dynamostore"
	"github.com/coffer-go/coffer/backend/mongostore"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite:// and postgres:// collections; the "pgx" database/sql driver
	"github.com/coffer-go/coffer/internal/testengine"
)

// engine opens a new, empty collection with coffer's layout on one store,
// removed (table, database) and closed when the test ends. Without the
// engine's address the test skips, or fails under CI=true (testengine.Env).
type engine struct {
	name string
	open func(t testing.TB) *docstore.Collection
}

// engines are every store coffer's CI runs: the in-memory store, SQLite, and
// the engines scripts/engines.sh starts.
var engines = []engine{
	{"memdocstore", openMem},
	{"sqlite", openSQLite},
	{"postgres", openPostgres},
	{"ferretdb-sqlite", func(t testing.TB) *docstore.Collection { return openMongo(t, testengine.MongoSQLiteURL) }},
	{"ferretdb-pg", func(t testing.TB) *docstore.Collection { return openMongo(t, testengine.MongoPGURL) }},
	{"dynalite", openDynalite},
}

// forEachEngine runs f as a subtest on each engine.
func forEachEngine(t *testing.T, f func(t *testing.T, e engine)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { f(t, e) })
	}
}

// freshName returns prefix and random lower-case letters and digits, so
// reruns against long-lived engines never meet an earlier run's data.
func freshName(prefix string) string {
	return prefix + strings.ToLower(rand.Text()[:12])
}

func engineContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func closeAtEnd(t testing.TB, coll *docstore.Collection) *docstore.Collection {
	t.Cleanup(func() { _ = coll.Close() })
	return coll
}

func openMem(t testing.TB) *docstore.Collection {
	coll, err := backend.OpenMemCollection()
	if err != nil {
		t.Fatal(err)
	}
	return closeAtEnd(t, coll)
}

func openSQLite(t testing.TB) *docstore.Collection {
	path := filepath.ToSlash(filepath.Join(t.TempDir(), "coffer.db"))
	coll, err := backend.OpenCollection(engineContext(t), "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	return closeAtEnd(t, coll)
}

func openPostgres(t testing.TB) *docstore.Collection {
	server := testengine.Env(t, testengine.PostgresURL)
	ctx := engineContext(t)
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("%s is not a URL", testengine.PostgresURL)
	}
	table := freshName("coffervar_")
	q := u.Query()
	q.Set("table", table)
	u.RawQuery = q.Encode()
	coll, err := backend.OpenCollection(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = coll.Close()
		db, err := sql.Open("pgx", server)
		if err != nil {
			t.Errorf("drop table %s: %v", table, err)
			return
		}
		defer db.Close()
		if _, err := db.Exec("DROP TABLE IF EXISTS " + table); err != nil {
			t.Errorf("drop table %s: %v", table, err)
		}
	})
	return coll
}

func openMongo(t testing.TB, envName string) *docstore.Collection {
	uri := testengine.Env(t, envName)
	ctx := engineContext(t)
	client, err := mongodocstore.Dial(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	// Without a server the driver waits out its 30 s server selection on
	// every call; one bounded ping fails fast instead.
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, nil); err != nil {
		_ = client.Disconnect(ctx)
		t.Fatalf("ping %s: %v", envName, err)
	}
	db := client.Database(freshName("coffervar_"))
	t.Cleanup(func() {
		ctx := context.Background()
		_ = db.Drop(ctx)
		_ = client.Disconnect(ctx)
	})
	mc := db.Collection("secrets")
	if err := mongostore.CreateIndex(ctx, mc); err != nil {
		t.Fatal(err)
	}
	coll, err := mongostore.Open(ctx, mc)
	if err != nil {
		t.Fatal(err)
	}
	return closeAtEnd(t, coll)
}

func openDynalite(t testing.TB) *docstore.Collection {
	endpoint := testengine.Env(t, testengine.DynamoDBEndpoint)
	ctx := engineContext(t)
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("eu-west-2"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")))
	if err != nil {
		t.Fatal(err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(endpoint) })
	table := freshName("coffervar_")
	if err := dynamostore.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(table)})
	})
	coll, err := dynamostore.OpenCollection(client, table)
	if err != nil {
		t.Fatal(err)
	}
	return closeAtEnd(t, coll)
}
