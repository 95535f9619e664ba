package coffer_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/sqldocstore"
	"github.com/coffer-go/coffer/coffertest"
)

// TestListReusesItsAnswer: List answers from its last answer while every
// record keeps its revision, and reads again once one record's revision
// changes; a listing longer than the kept limit is read in full every time.
// A document is edited behind docstore's back, its revision column
// untouched, to tell the two apart: a reused answer still shows the old
// description, a new reading shows the edit. (Through docstore every write
// changes the revision; the conformance test ListSeesEveryChange shows List
// following each kind of write on every store.)
func TestListReusesItsAnswer(t *testing.T) {
	ctx := context.Background()
	for _, limit := range []int{2, 1} {
		t.Run("kept up to "+strconv.Itoa(limit), func(t *testing.T) {
			defer coffer.SetMaxKeptListing(limit)()
			path := filepath.Join(t.TempDir(), "list.db")
			coll, err := backend.OpenCollection(ctx, "sqlite://"+filepath.ToSlash(path))
			if err != nil {
				t.Fatal(err)
			}
			m := coffertest.New(t, coll, nil).Manager
			for _, k := range []string{"A", "B"} {
				if _, err := m.Create(ctx, coffer.NewSecret{Key: k, Value: "v", Description: "old"}); err != nil {
					t.Fatal(err)
				}
			}
			first, err := m.List(ctx)
			if err != nil {
				t.Fatal(err)
			}

			// The same file through database/sql, opened as sqldocstore
			// opens it.
			db, err := sqldocstore.OpenSQLite(path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			exec := func(query string) {
				t.Helper()
				res, err := db.ExecContext(ctx, query)
				if err != nil {
					t.Fatal(err)
				}
				if n, err := res.RowsAffected(); err != nil || n != 1 {
					t.Fatalf("%s: %d rows, %v", query, n, err)
				}
			}
			table := `"` + backend.DefaultTable + `"`
			exec(`UPDATE ` + table + ` SET document = json_set(document, '$.Description', 'edited') WHERE json_extract(document, '$.Key') = 'B'`)
			edited := append([]coffer.Secret(nil), first...)
			edited[1].Description = "edited"

			second, err := m.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, why := first, "with every revision as it was, List did not reuse its answer"
			if limit < 2 {
				want, why = edited, "a listing longer than the kept limit was not read in full"
			}
			if diff := cmp.Diff(want, second); diff != "" {
				t.Errorf("%s (-want +got):\n%s", why, diff)
			}

			exec(`UPDATE ` + table + ` SET revision = revision + 1 WHERE json_extract(document, '$.Key') = 'B'`)
			third, err := m.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(edited, third); diff != "" {
				t.Errorf("after B's revision changed, List (-want +got):\n%s", diff)
			}
		})
	}
}
