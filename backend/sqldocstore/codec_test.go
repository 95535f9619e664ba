package sqldocstore

import (
	"context"
	"database/sql"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
)

// edgeDoc holds values JSON cannot say directly.
func edgeDoc() map[string]any {
	return map[string]any{
		"name":   "edge",
		"maxu":   uint64(math.MaxUint64),
		"mini":   int64(math.MinInt64),
		"big":    1e300,
		"tiny":   5e-324,
		"two":    2.0,
		"nan":    math.NaN(),
		"inf":    math.Inf(1),
		"ninf":   math.Inf(-1),
		"nul":    "a\x00b",
		"badutf": "a\xff\xfeb",
		"quote":  "\"\\\n\t\x01</>&",
		"bytes":  []byte{0, 1, 255},
		"empty":  []byte{},
		"time":   time.Date(2019, 3, 27, 0, 0, 0, 5e6+7, time.FixedZone("", -7*3600-30*60)),
		"utc":    time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		"zero":   time.Time{},
		"$t":     map[string]any{"$z": "not a tag", "$$x": int64(1)},
		"list":   []any{nil, true, "x", []any{int64(1)}, map[string]any{"k": 1.5}},
		"map":    map[string]any{},
	}
}

var cmpOpts = cmp.Options{cmpopts.EquateNaNs(), cmpopts.EquateEmpty()}

func TestCodecRoundTrip(t *testing.T) {
	want := edgeDoc()
	text, err := marshalDoc(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseDoc(text)
	if err != nil {
		t.Fatalf("parse %s: %v", text, err)
	}
	if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStoredRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		coll, err := OpenCollection(ctx, db, d, freshTable(), "name", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		want := edgeDoc()
		if err := coll.Put(ctx, want); err != nil {
			t.Fatal(err)
		}
		got := map[string]any{"name": "edge"}
		if err := coll.Get(ctx, got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpOpts); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
		// The time keeps its UTC offset, not only its instant.
		if _, off := got["time"].(time.Time).Zone(); off != -7*3600-30*60 {
			t.Errorf("offset = %d", off)
		}
	})
}

func TestBadValuesAreRefused(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(t.TempDir() + "/bad.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	coll, err := OpenCollection(ctx, db, SQLite, "docs", "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	for name, doc := range map[string]map[string]any{
		"year 10000":   {"name": "a", "t": time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"NUL in a key": {"name": "b", "m": map[string]any{"a\x00": 1}},
		"NUL in ID":    {"name": "c\x00"},
		"non-string":   {"name": 7},
	} {
		if err := coll.Put(ctx, doc); gcerrors.Code(err) != gcerrors.InvalidArgument {
			t.Errorf("%s: got %v, want InvalidArgument", name, err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM docs`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows = %d, %v; want nothing stored", n, err)
	}
	if err := coll.Query().Where("x", "<", math.NaN()).Get(ctx).Next(ctx, map[string]any{}); gcerrors.Code(err) != gcerrors.InvalidArgument {
		t.Errorf("NaN filter: got %v, want InvalidArgument", err)
	}
}

// TestCorruptDocument stores text this package did not write: reading it
// fails with Internal and no panic.
func TestCorruptDocument(t *testing.T) {
	ctx := context.Background()
	db, err := OpenSQLite(t.TempDir() + "/corrupt.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	coll, err := OpenCollection(ctx, db, SQLite, "docs", "name", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer coll.Close()
	for _, text := range []string{`{"name":"x","a":{"$q":1}}`, `{"name":"x","a":{"$b":"***"}}`, `[1]`, `{"name":"x","n":1e999}`} {
		if _, err := db.Exec(`INSERT OR REPLACE INTO docs (id, revision, document) VALUES ('x', 1, ?)`, text); err != nil {
			t.Fatal(err)
		}
		err := coll.Get(ctx, map[string]any{"name": "x"})
		if gcerrors.Code(err) != gcerrors.Internal {
			t.Errorf("%s: got %v, want Internal", text, err)
		}
	}
}

func TestErrorCodes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, db *sql.DB, d Dialect) {
		ctx := context.Background()
		coll, err := OpenCollection(ctx, db, d, freshTable(), "ID", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer coll.Close()
		r := newRecord("p/e", "K")
		if err := coll.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		stale := *r
		if err := coll.Replace(ctx, r); err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			err  error
			want gcerrors.ErrorCode
		}{
			"create existing":    {coll.Create(ctx, newRecord("p/e", "K")), gcerrors.AlreadyExists},
			"get missing":        {coll.Get(ctx, &record{ID: "nope"}), gcerrors.NotFound},
			"replace missing":    {coll.Replace(ctx, &record{ID: "nope"}), gcerrors.NotFound},
			"replace stale":      {coll.Replace(ctx, &stale), gcerrors.FailedPrecondition},
			"delete stale":       {coll.Delete(ctx, &stale), gcerrors.FailedPrecondition},
			"update stale":       {coll.Update(ctx, &stale, docstore.Mods{"Type": "token"}), gcerrors.FailedPrecondition},
			"update missing":     {coll.Update(ctx, &record{ID: "nope"}, docstore.Mods{"Type": "token"}), gcerrors.NotFound},
			"increment a string": {coll.Update(ctx, &record{ID: r.ID}, docstore.Mods{"Type": docstore.Increment(1)}), gcerrors.InvalidArgument},
			"change the key":     {coll.Update(ctx, &record{ID: r.ID}, docstore.Mods{"ID": "other"}), gcerrors.InvalidArgument},
			"revision not int64": {coll.Replace(ctx, &record{ID: r.ID, DocstoreRevision: "x"}), gcerrors.InvalidArgument},
		} {
			if got := gcerrors.Code(tc.err); got != tc.want {
				t.Errorf("%s: got %v (%v), want %v", name, got, tc.err, tc.want)
			}
		}
	})
}

func FuzzParseDoc(f *testing.F) {
	text, err := marshalDoc(edgeDoc())
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		string(text), `{}`, `{"a":{"$t":"2019-03-27T00:00:00.000000000Z","$z":3600}}`,
		`{"a":{"$f":"NaN"}}`, `{"$$a":[1,2.5,"x",{"$s":"AA=="}]}`, `{"a":{"$t":1,"$z":"x"}}`,
		`{"a":18446744073709551616}`, `{"a":{"$b":null}}`, `{"a":1} x`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseDoc(data)
		if err != nil {
			if gcerrors.Code(err) != gcerrors.Internal && errorCode(err) != gcerrors.Internal {
				t.Fatalf("error %v is not Internal", err)
			}
			return
		}
		// Whatever parses decodes without panicking, and survives a round trip.
		_ = driver.Decode(reflectValueOf(new(map[string]any)), decoder{m})
		_ = driver.Decode(reflectValueOf(new(record)), decoder{m})
		text, err := marshalDoc(m)
		if err != nil {
			// Only map keys that JSON cannot store may fail.
			if gcerrors.Code(err) == gcerrors.InvalidArgument || errorCode(err) == gcerrors.InvalidArgument {
				return
			}
			t.Fatalf("marshal: %v", err)
		}
		m2, err := parseDoc(text)
		if err != nil {
			t.Fatalf("reparse %s: %v", text, err)
		}
		if diff := cmp.Diff(m, m2, cmpOpts); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func reflectValueOf(p any) reflect.Value { return reflect.ValueOf(p).Elem() }
