package claims

import (
	"context"
	"testing"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"
)

// BenchmarkLayer measures the wrapper's own cost, without a network: a Get
// and a revision-checked Replace on memdocstore, plain and wrapped (whose
// Replace also creates and deletes a claim in a second memdocstore).
//
//	go test -run '^$' -bench Layer -count 3 ./backend/claims
func BenchmarkLayer(b *testing.B) {
	for _, form := range []string{"plain", "wrapped"} {
		b.Run(form, func(b *testing.B) {
			ctx := context.Background()
			docs, err := memdocstore.OpenCollection("name", nil)
			if err != nil {
				b.Fatal(err)
			}
			coll := docs
			if form == "wrapped" {
				cc, err := memdocstore.OpenCollection(IDField, nil)
				if err != nil {
					b.Fatal(err)
				}
				if coll, err = Wrap(docs, cc, "name", nil); err != nil {
					b.Fatal(err)
				}
			}
			b.Cleanup(func() { _ = coll.Close() })
			doc := map[string]any{"name": "a", "n": int64(0), docstore.DefaultRevisionField: nil}
			if err := coll.Create(ctx, doc); err != nil {
				b.Fatal(err)
			}
			b.Run("Get", func(b *testing.B) {
				for b.Loop() {
					got := map[string]any{"name": "a", docstore.DefaultRevisionField: nil}
					if err := coll.Get(ctx, got); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("Replace", func(b *testing.B) {
				for b.Loop() {
					if err := coll.Replace(ctx, doc); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
