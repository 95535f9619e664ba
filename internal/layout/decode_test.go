package layout_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"

	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite:// collections
	"github.com/coffer-go/coffer/internal/layout"
)

var (
	created = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	updated = time.Date(2026, 11, 26, 8, 30, 0, 123_000_000, time.FixedZone("", 3600))
)

func storedRecord() *layout.Record {
	r := layout.NewRecord("shop", "prod", "API_KEY")
	r.Project, r.Environment = "shop", "prod"
	r.Description, r.Type = "the payment provider", "api_key"
	r.CreatedAt, r.UpdatedAt, r.RotatedAt = created, updated, updated
	r.CreatedBy, r.UpdatedBy = "alice", "bob"
	r.Version = 3
	r.Sealed = []byte{1, 0, 0, 0, 1, 0xff}
	return r
}

// TestSetFieldsMatchesStructDecoding: for records as coffer stores them,
// reading into a map and converting with SetFields gives the Record that
// docstore's decoding into the struct gives, whole or projected, on
// memdocstore and on the SQL driver.
func TestSetFieldsMatchesStructDecoding(t *testing.T) {
	ctx := context.Background()
	mem, err := memdocstore.OpenCollection(layout.IDField, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	sqlite, err := docstore.OpenCollection(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db")+"?table=secrets&key_field=ID")
	if err != nil {
		t.Fatal(err)
	}
	defer sqlite.Close()
	for name, coll := range map[string]*docstore.Collection{"mem": mem, "sqlite": sqlite} {
		if err := coll.Create(ctx, storedRecord()); err != nil {
			t.Fatal(err)
		}
		for _, fields := range [][]docstore.FieldPath{nil, layout.MetadataFields, layout.ListFields, layout.SealedFields, {"Version", "DocstoreRevision"}} {
			want := layout.NewRecord("shop", "prod", "API_KEY")
			if err := coll.Get(ctx, want, fields...); err != nil {
				t.Fatal(err)
			}
			got := layout.NewRecord("shop", "prod", "API_KEY")
			doc := got.Doc()
			if err := coll.Get(ctx, doc, fields...); err != nil {
				t.Fatal(err)
			}
			if err := got.SetFields(doc); err != nil {
				t.Fatalf("%s %v: %v", name, fields, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s, fields %v (-struct +map):\n%s", name, fields, diff)
			}
		}
	}
}

// TestSetFieldsDriverForms: the forms drivers decode stored values into
// convert to the values written.
func TestSetFieldsDriverForms(t *testing.T) {
	tests := []struct {
		name string
		doc  map[string]any
		want layout.Record
	}{
		{"DynamoDB times are RFC 3339 text", map[string]any{"CreatedAt": updated.Format(time.RFC3339Nano), "Version": int64(2)},
			layout.Record{CreatedAt: mustParse(updated.Format(time.RFC3339Nano)), Version: 2}},
		{"BSON int32", map[string]any{"Version": int32(7)}, layout.Record{Version: 7}},
		{"integral float", map[string]any{"Version": 4.0}, layout.Record{Version: 4}},
		{"uint64", map[string]any{"Version": uint64(9)}, layout.Record{Version: 9}},
		{"null fields are zero", map[string]any{"Key": nil, "CreatedAt": nil, "Version": nil, "Sealed": nil}, layout.Record{}},
		{"unknown fields are ignored", map[string]any{"Key": "K", "Future": []any{1}}, layout.Record{Key: "K"}},
		{"any revision", map[string]any{"DocstoreRevision": "6f1c"}, layout.Record{DocstoreRevision: "6f1c"}},
	}
	for _, tt := range tests {
		var got layout.Record
		if err := got.SetFields(tt.doc); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func mustParse(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestSetFieldsRefusesWrongTypes: a field holding what no driver writes
// for it is an error naming the field, never showing the value.
func TestSetFieldsRefusesWrongTypes(t *testing.T) {
	const canary = "CANARY-7c1e"
	for name, doc := range map[string]map[string]any{
		"Version text":      {"Version": canary},
		"Version fraction":  {"Version": 1.5},
		"Version NaN":       {"Version": math.NaN()},
		"Version 2^63":      {"Version": float64(1 << 63)},
		"Version too large": {"Version": uint64(math.MaxUint64)},
		"Sealed text":       {"Sealed": canary},
		"CreatedAt text":    {"CreatedAt": canary},
		"CreatedAt number":  {"CreatedAt": int64(5)},
		"Key bytes":         {"Key": []byte(canary)},
		"Description list":  {"Description": []any{canary}},
	} {
		var r layout.Record
		err := r.SetFields(doc)
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		field := strings.Fields(name)[0]
		if !strings.Contains(err.Error(), "stored field "+field) || strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error %q should name %s and not show the value", name, err, field)
		}
	}
}

// FuzzSetFields: whatever types a stored document's fields hold, SetFields
// never panics, never shows a text value in its error, and what it accepts
// it keeps unchanged.
func FuzzSetFields(f *testing.F) {
	f.Add(uint8(0), "K", int64(1), 1.0, []byte{1})
	f.Add(uint8(1), "2026-11-25T12:00:00Z", int64(-1), 2.5, []byte{})
	f.Add(uint8(2), "x", int64(math.MaxInt64), math.Inf(1), []byte(nil))
	f.Add(uint8(3), "", int64(math.MinInt64), -9.223372036854775808e18, []byte("abc"))
	f.Fuzz(func(t *testing.T, kind uint8, s string, i int64, fl float64, b []byte) {
		values := []any{s, i, fl, b, nil, int32(i), uint64(i), time.Unix(i%(1<<40), 0), []any{s}, map[string]any{"x": s}}
		names := []string{"ID", "Scope", "Project", "Environment", "Key", "Description", "Type", "CreatedAt", "UpdatedAt", "RotatedAt", "CreatedBy", "UpdatedBy", "Version", "Sealed", "DocstoreRevision"}
		doc := map[string]any{}
		for j, name := range names {
			doc[name] = values[(int(kind)+j*7)%len(values)]
		}
		var r layout.Record
		err := r.SetFields(doc)
		if err != nil {
			if len(s) > 3 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q shows a stored text", err)
			}
			return
		}
		if v, ok := doc["Key"].(string); ok && r.Key != v {
			t.Fatalf("Key %q, stored %q", r.Key, v)
		}
		if v, ok := doc["Version"].(int64); ok && int64(r.Version) != v {
			t.Fatalf("Version %d, stored %d", r.Version, v)
		}
		if v, ok := doc["Sealed"].([]byte); ok && string(r.Sealed) != string(v) {
			t.Fatalf("Sealed %x, stored %x", r.Sealed, v)
		}
	})
}
