package sqldocstore

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"
)

// benchStores returns a fresh collection of each store to compare: SQLite
// on a file, memdocstore, and PostgreSQL when COFFER_POSTGRES_URL is set.
func benchStores(b *testing.B) map[string]func() *docstore.Collection {
	ctx := context.Background()
	stores := map[string]func() *docstore.Collection{
		"SQLite": func() *docstore.Collection {
			coll, err := openRecords(ctx, filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			return coll
		},
		"memdocstore": func() *docstore.Collection {
			coll, err := memdocstore.OpenCollection("ID", nil)
			if err != nil {
				b.Fatal(err)
			}
			return coll
		},
	}
	if os.Getenv("COFFER_POSTGRES_URL") != "" {
		stores["PostgreSQL"] = func() *docstore.Collection {
			c, err := newCollection(ctx, postgresDB(b), PostgreSQL, freshTable(), "ID", nil, &Options{Indexes: [][]string{{"Scope", "Key"}}})
			if err != nil {
				b.Fatal(err)
			}
			return docstore.NewCollection(c)
		}
	}
	return stores
}

// fill puts n records in scope, in transactions of 1000.
func fill(b *testing.B, coll *docstore.Collection, scope string, n int) {
	ctx := context.Background()
	for start := 0; start < n; start += 1000 {
		al := coll.Actions().AtomicWrites()
		for i := start; i < min(n, start+1000); i++ {
			al.Put(newRecord(scope, fmt.Sprintf("KEY_%05d", i)))
		}
		if err := al.Do(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCollection(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"SQLite", "memdocstore", "PostgreSQL"} {
		open, ok := benchStores(b)[name]
		if !ok {
			continue
		}
		b.Run(name+"/Get", func(b *testing.B) {
			coll := open()
			defer coll.Close()
			fill(b, coll, "p/e", 1000)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				r := &record{ID: fmt.Sprintf("p/e/KEY_%05d", i%1000)}
				if err := coll.Get(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Create", func(b *testing.B) {
			coll := open()
			defer coll.Close()
			for i := 0; b.Loop(); i++ {
				if err := coll.Create(ctx, newRecord("p/e", fmt.Sprintf("NEW_%07d", i))); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Replace", func(b *testing.B) {
			coll := open()
			defer coll.Close()
			r := newRecord("p/e", "REPLACED")
			if err := coll.Create(ctx, r); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				r.Version++
				// r carries the revision of the last write: each Replace is
				// revision-checked.
				if err := coll.Replace(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/Query10kProjected", func(b *testing.B) {
			coll := open()
			defer coll.Close()
			fill(b, coll, "p/e", 10000)
			fill(b, coll, "p/other", 100)
			b.ResetTimer()
			for b.Loop() {
				it := coll.Query().Where("Scope", "=", "p/e").Where("Key", ">", "").OrderBy("Key", docstore.Ascending).
					Get(ctx, "ID", "Scope", "Key", "Description", "Type", "CreatedAt", "UpdatedAt", "Version", "DocstoreRevision")
				n := 0
				for {
					var r record
					err := it.Next(ctx, &r)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != 10000 {
					b.Fatalf("query returned %d records", n)
				}
			}
		})
	}
}
