package sqldocstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/docstore/memdocstore"
)

// forEachDialect runs f on a fresh SQLite file and on PostgreSQL (a fresh
// schema), each in its own subtest.
func forEachDialect(t *testing.T, f func(t *testing.T, db *sql.DB, d Dialect)) {
	t.Run("SQLite", func(t *testing.T) {
		db, err := OpenSQLite(filepath.Join(t.TempDir(), "q.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		f(t, db, SQLite)
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		f(t, postgresDB(t), PostgreSQL)
	})
}

var (
	utc   = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	plus2 = time.Date(2024, 5, 6, 9, 8, 9, 123456789, time.FixedZone("", 2*3600)) // the same instant
)

// mixedDocs holds a field v of every kind, to check that SQL compares only
// like with like, exactly as memdocstore does.
func mixedDocs() []map[string]any {
	vals := []any{
		int64(-3), int64(0), int64(2), 2.0, 0.5, int64(1) << 60, 1e300,
		"", "a", "B", "b", "ab", "é", "10",
		true, false,
		utc, plus2, utc.Add(time.Nanosecond), time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC),
		nil, map[string]any{"x": "a"},
	}
	var docs []map[string]any
	for i, v := range vals {
		docs = append(docs, map[string]any{"name": fmt.Sprintf("d%02d", i), "v": v, "n": map[string]any{"v": v}})
	}
	docs = append(docs, map[string]any{"name": "missing"})
	return docs
}

func TestQueriesMatchMemdocstore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		coll, err := OpenCollection(ctx, db, d, freshTable(), "name", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { coll.Close() })
		mem, err := memdocstore.OpenCollection("name", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mem.Close() })
		for _, doc := range mixedDocs() {
			if err := coll.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
			if err := mem.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		operands := []any{int64(2), 0.5, int64(-10), 1e300, "", "a", "b", "é", true, utc, plus2}
		for _, path := range []docstore.FieldPath{"v", "n.v"} {
			for _, op := range []string{"=", "<", "<=", ">", ">="} {
				for _, x := range operands {
					if _, isBool := x.(bool); isBool && op != "=" {
						continue
					}
					check(t, coll.Query().Where(path, op, x), mem.Query().Where(path, op, x))
				}
			}
			for _, list := range [][]any{{"a", int64(2), true}, {utc}, {}, {"zzz"}, {0.5, "B", false}} {
				check(t, coll.Query().Where(path, "in", list), mem.Query().Where(path, "in", list))
				check(t, coll.Query().Where(path, "not-in", list), mem.Query().Where(path, "not-in", list))
			}
		}
	})
}

// check compares the keys two queries return.
func check(t *testing.T, q, want *docstore.Query) {
	t.Helper()
	ctx := context.Background()
	plan, err := q.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(keys(t, want.Get(ctx)), keys(t, q.Get(ctx))); diff != "" {
		t.Errorf("%s\n(-want +got):\n%s", plan, diff)
	}
}

func keys(t *testing.T, it *docstore.DocumentIterator) []string {
	t.Helper()
	defer it.Stop()
	var ks []string
	for {
		m := map[string]any{}
		err := it.Next(context.Background(), m)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, m["name"].(string))
	}
	slices.Sort(ks)
	return ks
}

func TestOrderBy(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		coll, err := OpenCollection(ctx, db, d, freshTable(), "name", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { coll.Close() })
		for _, doc := range mixedDocs() {
			if err := coll.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			q    *docstore.Query
			want []string
		}{
			// Bytewise: "B" < "a" < "ab" < "b" < "é".
			{coll.Query().Where("v", ">", "").OrderBy("v", docstore.Ascending), []string{"d13", "d09", "d08", "d11", "d10", "d12"}},
			{coll.Query().Where("v", ">=", "a").OrderBy("v", docstore.Descending).Limit(2), []string{"d12", "d10"}},
			{coll.Query().Where("v", ">", int64(-100)).OrderBy("v", docstore.Ascending), []string{"d00", "d01", "d04", "d02", "d03", "d05", "d06"}},
			{coll.Query().Where("v", ">", time.Time{}).OrderBy("v", docstore.Ascending), []string{"d19", "d16", "d17", "d18"}},
			{coll.Query().Where("v", ">", time.Time{}).OrderBy("v", docstore.Descending).Offset(1).Limit(2), []string{"d16", "d17"}},
		} {
			plan, _ := tc.q.Plan()
			got := orderedKeys(t, tc.q.Get(ctx))
			// d02 (2) and d03 (2.0) are equal: either order is right.
			if slices.Contains(got, "d02") {
				i := slices.Index(got, "d02")
				if i+1 < len(got) && got[i+1] == "d03" || i > 0 && got[i-1] == "d03" {
					got[min(i, slices.Index(got, "d03"))], got[max(i, slices.Index(got, "d03"))] = "d02", "d03"
				}
			}
			// utc and plus2 are the same instant.
			if diff := cmp.Diff(tc.want, got); diff != "" && !sameInstants(tc.want, got) {
				t.Errorf("%s\n(-want +got):\n%s", plan, diff)
			}
		}
	})
}

func sameInstants(want, got []string) bool {
	swap := func(s []string) []string {
		s = slices.Clone(s)
		for i := range s {
			switch s[i] {
			case "d16":
				s[i] = "d17"
			case "d17":
				s[i] = "d16"
			}
		}
		return s
	}
	return slices.Equal(swap(want), got)
}

func orderedKeys(t *testing.T, it *docstore.DocumentIterator) []string {
	t.Helper()
	defer it.Stop()
	var ks []string
	for {
		m := map[string]any{}
		err := it.Next(context.Background(), m)
		if err == io.EOF {
			return ks
		}
		if err != nil {
			t.Fatal(err)
		}
		ks = append(ks, m["name"].(string))
	}
}

// TestGoFallback checks filters SQL cannot state: they run in Go, the plan
// says so, and the answer is still right.
func TestGoFallback(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		coll, err := OpenCollection(ctx, db, d, freshTable(), "name", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { coll.Close() })
		docs := []map[string]any{
			{"name": "nul", "s": "a\x00b", `we"ird`: "x"},
			{"name": "bad", "s": "a\xffb"},
			{"name": "plain", "s": "ab", `we"ird`: "y", `back\slash`: "z"},
		}
		for _, doc := range docs {
			if err := coll.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			q    *docstore.Query
			want []string
		}{
			{coll.Query().Where("s", "=", "a\x00b"), []string{"nul"}},
			{coll.Query().Where("s", "in", []string{"a\xffb", "ab"}).Limit(1).OrderBy("s", docstore.Ascending), []string{"plain"}},
			{coll.Query().Where("s", "=", "ab"), []string{"plain"}},
		} {
			plan, err := tc.q.Plan()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, orderedKeys(t, tc.q.Get(ctx))); diff != "" {
				t.Errorf("%s\n(-want +got):\n%s", plan, diff)
			}
		}
		plan, err := coll.Query().Where("s", "=", "a\x00b").Plan()
		if err != nil || !strings.Contains(plan, "filter in Go") {
			t.Errorf("plan of a NUL operand = %q, %v; want a filter in Go", plan, err)
		}
		// A backslash in a field name never reaches a SQL literal.
		q := coll.Query().Where(`back\slash`, "=", "z")
		if plan, _ := q.Plan(); !strings.Contains(plan, "filter in Go") {
			t.Errorf("plan = %q; want a filter in Go", plan)
		}
		if diff := cmp.Diff([]string{"plain"}, orderedKeys(t, q.Get(ctx))); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		if d == SQLite {
			q := coll.Query().Where(`we"ird`, "=", "y")
			plan, _ := q.Plan()
			if !strings.Contains(plan, "filter in Go") {
				t.Errorf("plan = %q; want a filter in Go", plan)
			}
			if diff := cmp.Diff([]string{"plain"}, orderedKeys(t, q.Get(ctx))); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}
		// The stored strings come back byte for byte.
		for _, want := range docs {
			got := map[string]any{"name": want["name"]}
			if err := coll.Get(ctx, got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		}
	})
}

// TestListUsesIndex checks coffer's List query reads the (Scope, Key)
// index, by EXPLAIN of the very SQL the driver runs, and that a projected
// query never selects the document column.
func TestListUsesIndex(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		table := freshTable()
		c, err := newCollection(ctx, db, d, table, "ID", nil, &Options{Indexes: [][]string{{"Scope", "Key"}}})
		if err != nil {
			t.Fatal(err)
		}
		coll := docstore.NewCollection(c)
		t.Cleanup(func() { coll.Close() })
		al := coll.Actions()
		for i := range 200 {
			al.Put(newRecord(fmt.Sprintf("p/e%d", i%4), fmt.Sprintf("K%03d", i)))
		}
		if err := al.Do(ctx); err != nil {
			t.Fatal(err)
		}
		if d == PostgreSQL {
			if _, err := db.ExecContext(ctx, "ANALYZE "+quoteIdent(table)); err != nil {
				t.Fatal(err)
			}
		}
		q := coll.Query().Where("Scope", "=", "p/e1").Where("Key", ">", "").OrderBy("Key", docstore.Ascending)
		fields := []docstore.FieldPath{"ID", "Scope", "Key", "Description", "DocstoreRevision"}
		plan, err := q.Plan(fields...)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("plan: %s", plan)
		if strings.Contains(plan, "filter in Go") || strings.Contains(plan, ", "+colDoc+" FROM") {
			t.Errorf("plan %q should filter in SQL and select only the asked fields", plan)
		}
		dq, err := c.planQuery(&driver.Query{
			FieldPaths:     [][]string{{"ID"}, {"Scope"}, {"Key"}, {"Description"}, {"DocstoreRevision"}},
			Filters:        []driver.Filter{{FieldPath: []string{"Scope"}, Op: "=", Value: "p/e1"}, {FieldPath: []string{"Key"}, Op: ">", Value: ""}},
			OrderByField:   "Key",
			OrderAscending: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		explain := explain(t, db, d, dq)
		t.Logf("EXPLAIN:\n%s", explain)
		idx := table + "_Scope_Key_idx"
		if !strings.Contains(explain, idx) || strings.Contains(explain, "TEMP B-TREE") || strings.Contains(explain, "Sort") {
			t.Errorf("EXPLAIN does not read %s in order:\n%s", idx, explain)
		}
		var got []string
		it := q.Get(ctx, fields...)
		defer it.Stop()
		for {
			var r record
			err := it.Next(ctx, &r)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Sealed != nil || r.DocstoreRevision == nil {
				t.Fatalf("projection: Sealed = %v, revision = %v", r.Sealed, r.DocstoreRevision)
			}
			got = append(got, r.Key)
		}
		if len(got) != 50 || !slices.IsSorted(got) {
			t.Errorf("got %d keys, sorted = %v", len(got), slices.IsSorted(got))
		}
	})
}

func explain(t *testing.T, db *sql.DB, d Dialect, p *queryPlan) string {
	t.Helper()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	prefix := "EXPLAIN QUERY PLAN "
	if d == PostgreSQL {
		prefix = "EXPLAIN "
		// The table is small, so the planner may rightly prefer to scan or
		// sort it: switch those off to show the index can serve the query
		// in key order by itself.
		for _, s := range []string{"enable_seqscan", "enable_bitmapscan", "enable_sort"} {
			if _, err := conn.ExecContext(ctx, "SET "+s+" = off"); err != nil {
				t.Fatal(err)
			}
			defer conn.ExecContext(ctx, "RESET "+s)
		}
	}
	rows, err := conn.QueryContext(ctx, prefix+p.sql, p.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n")
}

// jsonTextDocs hold, in field v, values whose json_extract text is alike:
// objects and arrays, and strings spelling the same JSON text or starting
// with "{" or "[", besides the kinds of mixedDocs.
func jsonTextDocs() []map[string]any {
	docs := mixedDocs()
	for i, v := range []any{
		`{"x":"a"}`, `["a"]`, "{", "[", "{z", "[[", "]", "}", []any{"a"}, []any{}, map[string]any{},
		map[string]any{"x": map[string]any{"y": []any{int64(1), "b"}}}, `{"x":{"y":[1,"b"]}}`,
		uint64(1) << 63, "\x00{", []byte("{b}"),
	} {
		docs = append(docs, map[string]any{"name": fmt.Sprintf("j%02d", i), "v": v})
	}
	return docs
}

// TestStringFiltersOnJSONText: on SQLite a string filter judges the type
// from json_extract's text, asking json_type only when that text starts
// with "{" or "["; with and without an index on the field (where SQLite
// takes the text from the index), a string filter matches exactly the
// strings memdocstore matches, never an array or an object of the same
// JSON text.
func TestStringFiltersOnJSONText(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		mem, err := memdocstore.OpenCollection("name", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { mem.Close() })
		// Every document goes to SQL; memdocstore gets those whose value
		// the two judge alike: it looks inside arrays, and sees strings
		// stored tagged, which SQL filters never match (see the package
		// doc). So neither may ever match here (not-in, which matches
		// them, is TestQueriesMatchMemdocstore's).
		docs := jsonTextDocs()
		for _, doc := range docs {
			if s, ok := doc["v"].(string); ok && !plainString(s) {
				continue
			}
			if _, ok := doc["v"].([]any); ok {
				continue
			}
			if err := mem.Put(ctx, doc); err != nil {
				t.Fatal(err)
			}
		}
		for _, indexes := range [][][]string{nil, {{"v"}}} {
			coll, err := OpenCollection(ctx, db, d, freshTable(), "name", &Options{Indexes: indexes})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { coll.Close() })
			for _, doc := range docs {
				if err := coll.Put(ctx, doc); err != nil {
					t.Fatal(err)
				}
			}
			for _, x := range []string{`{"x":"a"}`, `["a"]`, `{"x":{"y":[1,"b"]}}`, "{", "[", "", "a", "{z", "}"} {
				for _, op := range []string{"=", "<", "<=", ">", ">="} {
					check(t, coll.Query().Where("v", op, x), mem.Query().Where("v", op, x))
				}
				check(t, coll.Query().Where("v", "in", []any{x, "a"}), mem.Query().Where("v", "in", []any{x, "a"}))
			}
		}
	})
}

// TestProjectionByColumn: on SQLite a projection onto the key field and
// indexed fields reads the id column and the index's value, parsing the
// document only for a value that is not a string; it reads every kind of
// value exactly as the projection through one JSON array does (the same
// table opened without the index), on queries and on Get.
func TestProjectionByColumn(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	table := freshTable()
	indexed, err := OpenCollection(ctx, db, SQLite, table, "name", &Options{Indexes: [][]string{{"v"}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { indexed.Close() })
	plain, err := OpenCollection(ctx, db, SQLite, table, "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { plain.Close() })
	docs := jsonTextDocs()
	docs = append(docs, map[string]any{"name": "tagged", "v": "\xff{"}, map[string]any{"name": "null", "v": nil},
		map[string]any{"name": "nan", "v": math.NaN()})
	for _, doc := range docs {
		if err := indexed.Put(ctx, doc); err != nil {
			t.Fatal(err)
		}
	}

	read := func(q *docstore.Query, fields ...docstore.FieldPath) []map[string]any {
		t.Helper()
		it := q.Get(ctx, fields...)
		defer it.Stop()
		var out []map[string]any
		for {
			m := map[string]any{}
			err := it.Next(ctx, m)
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, m)
		}
	}
	for _, fields := range [][]docstore.FieldPath{{"name", "v"}, {"v"}, {"name"}, {"v", "DocstoreRevision"}} {
		q := func(c *docstore.Collection) *docstore.Query { return c.Query().OrderBy("name", docstore.Ascending) }
		plan, err := q(indexed).Plan(fields...)
		if err != nil {
			t.Fatal(err)
		}
		if sel, _, _ := strings.Cut(plan, " FROM "); !strings.Contains(sel, ", id") || strings.Contains(sel, `"name"`) {
			t.Errorf("plan %q should read the key from the id column", plan)
		}
		byColumn := strings.Contains(plan, "CASE WHEN")
		if byColumn != slices.Contains(fields, "v") {
			t.Errorf("plan %q: by column = %v", plan, byColumn)
		}
		want, got := read(q(plain), fields...), read(q(indexed), fields...)
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("fields %v (-one JSON array +by column):\n%s", fields, diff)
		}
		if len(got) != len(docs) {
			t.Errorf("fields %v: %d documents, want %d", fields, len(got), len(docs))
		}
		for _, doc := range docs {
			want, got := map[string]any{"name": doc["name"]}, map[string]any{"name": doc["name"]}
			if err := plain.Get(ctx, want, fields...); err != nil {
				t.Fatal(err)
			}
			if err := indexed.Get(ctx, got, fields...); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
				t.Errorf("Get %v of %v (-one JSON array +by column):\n%s", fields, doc["name"], diff)
			}
		}
	}
}
