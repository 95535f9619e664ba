package sqldocstore

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/coffertest"
)

// TestListReusesItsAnswer: List answers from its last answer while every
// record keeps its revision, and reads again once one record's revision
// changes. A document is edited behind docstore's back, its revision column
// untouched, to tell the two apart: a reused answer still shows the old
// description, a new reading shows the edit. (Through docstore every write
// changes the revision; backendtest's ListSeesEveryChange shows List
// following each kind of write on every store.)
func TestListReusesItsAnswer(t *testing.T) {
	ctx := context.Background()
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

	u := url.URL{Scheme: "file", Opaque: (&url.URL{Path: path}).EscapedPath(), RawQuery: sqliteParams}
	db, err := sql.Open("sqlite", u.String())
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
	table := quoteIdent(backend.DefaultTable)
	exec(`UPDATE ` + table + ` SET document = json_set(document, '$.Description', 'edited') WHERE json_extract(document, '$.Key') = 'B'`)

	second, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("with every revision as it was, List did not reuse its answer (-first +second):\n%s", diff)
	}

	exec(`UPDATE ` + table + ` SET revision = revision + 1 WHERE json_extract(document, '$.Key') = 'B'`)
	third, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := first
	want[1].Description = "edited"
	if diff := cmp.Diff(want, third); diff != "" {
		t.Errorf("after B's revision changed, List (-want +got):\n%s", diff)
	}
}
