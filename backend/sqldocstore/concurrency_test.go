package sqldocstore

import (
	"context"
	"database/sql"
	"sync"
	"testing"

	"gocloud.dev/docstore"
)

// TestConcurrentIncrements runs Updates without a revision from several
// goroutines on one document: the optimistic read-modify-write must retry
// rather than lose an increment.
func TestConcurrentIncrements(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		coll, err := OpenCollection(ctx, db, d, freshTable(), "name", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		// No revision field: Update checks the stored text instead.
		if err := coll.Create(ctx, map[string]any{"name": "n", "count": 0}); err != nil {
			t.Fatal(err)
		}
		const workers, each = 4, 25
		var wg sync.WaitGroup
		errs := make(chan error, workers*each)
		for range workers {
			wg.Go(func() {
				for range each {
					if err := coll.Update(ctx, map[string]any{"name": "n"}, docstore.Mods{"count": docstore.Increment(1)}); err != nil {
						errs <- err
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		got := map[string]any{"name": "n"}
		if err := coll.Get(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got["count"] != int64(workers*each) {
			t.Errorf("count = %v, want %d", got["count"], workers*each)
		}
	})
}
