package mongostore_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/mongo"
	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend/mongostore"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/internal/testengine"
)

// BenchmarkClaims measures what claims cost on FerretDB: Update (one Get
// and one claimed Replace) and Reveal (a Get, which takes no claim), on a
// collection opened plain and one opened with claims, on each of
// FerretDB's storage backends. Compare the two forms within one run:
//
//	go test -run '^$' -bench Claims -count 3 ./backend/mongostore
func BenchmarkClaims(b *testing.B) {
	for _, engine := range []struct{ name, env string }{
		{"SQLite", testengine.MongoSQLiteURL},
		{"PostgreSQL", testengine.MongoPGURL},
	} {
		for _, form := range []struct {
			name string
			open func(context.Context, *testing.B, string) *docstore.Collection
		}{
			{"plain", openPlain},
			{"claims", openClaims},
		} {
			b.Run(engine.name+"/"+form.name, func(b *testing.B) {
				uri := testengine.Env(b, engine.env)
				ctx := context.Background()
				m := benchManager(ctx, b, form.open(ctx, b, uri))
				if _, err := m.Create(ctx, coffer.NewSecret{Key: "API_TOKEN", Value: "v0"}); err != nil {
					b.Fatal(err)
				}
				b.Run("Update", func(b *testing.B) {
					for b.Loop() {
						if _, err := m.Update(ctx, "API_TOKEN", coffer.Change{Value: "v1"}); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run("Reveal", func(b *testing.B) {
					for b.Loop() {
						if _, err := m.Reveal(ctx, "API_TOKEN"); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

func openPlain(ctx context.Context, b *testing.B, uri string) *docstore.Collection {
	coll, err := mongostore.OpenCollection(benchColl(ctx, b, uri))
	if err != nil {
		b.Fatal(err)
	}
	return coll
}

func openClaims(ctx context.Context, b *testing.B, uri string) *docstore.Collection {
	coll, err := mongostore.OpenCollectionWithClaims(benchColl(ctx, b, uri))
	if err != nil {
		b.Fatal(err)
	}
	return coll
}

func benchManager(ctx context.Context, b *testing.B, coll *docstore.Collection) *coffer.Manager {
	keeper := coffertest.RandomKeeper(b)
	m, err := coffer.New(coll, keeper, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = m.Close()
		_ = coll.Close()
		_ = keeper.Close()
	})
	return m
}

// benchColl returns the collection secrets of a new database, with its
// index; the database is dropped when the benchmark ends.
func benchColl(ctx context.Context, b *testing.B, uri string) *mongo.Collection {
	coll := freshDB(ctx, b, uri).Collection("secrets")
	if err := mongostore.CreateIndex(ctx, coll); err != nil {
		b.Fatal(err)
	}
	return coll
}
