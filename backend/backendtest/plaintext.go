package backendtest

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"testing"

	"gocloud.dev/docstore"
)

// FindPlaintext returns where needle occurs in docs (documents keyed by ID,
// as Snapshot returns them), looking at the raw bytes of every field of
// every document: a []byte field byte for byte, a string as its bytes, and
// every element of nested maps, lists and structs, field names included.
// Each hit is a path such as "ID.Keys[0].Wrapped", sorted. Rendering a
// document (JSON, fmt) would hide a []byte as base64 or numbers; this scan
// sees what the store holds.
func FindPlaintext(docs map[string]map[string]any, needle []byte) []string {
	if len(needle) == 0 {
		return nil
	}
	var hits []string
	for id, doc := range docs {
		scanValue(reflect.ValueOf(doc), id, needle, &hits, 0)
	}
	sort.Strings(hits)
	return hits
}

// maxDepth bounds the walk, in case a driver ever returns a cyclic value.
const maxDepth = 64

func scanValue(v reflect.Value, path string, needle []byte, hits *[]string, depth int) {
	if !v.IsValid() || depth > maxDepth {
		return
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if !v.IsNil() {
			scanValue(v.Elem(), path, needle, hits, depth+1)
		}
	case reflect.String:
		if bytes.Contains([]byte(v.String()), needle) {
			*hits = append(*hits, path)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			// Byte by byte: reflect.Copy refuses values reached through
			// unexported fields (a protobuf revision's internals).
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			if bytes.Contains(b, needle) {
				*hits = append(*hits, path)
			}
			return
		}
		for i := range v.Len() {
			scanValue(v.Index(i), fmt.Sprintf("%s[%d]", path, i), needle, hits, depth+1)
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			name := fmt.Sprint(it.Key())
			scanValue(it.Key(), path+".(field name "+name+")", needle, hits, depth+1)
			scanValue(it.Value(), path+"."+name, needle, hits, depth+1)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			scanValue(v.Field(i), path+"."+v.Type().Field(i).Name, needle, hits, depth+1)
		}
	}
}

// NoPlaintext fails t when any document of coll holds any of needles in
// any field (see FindPlaintext), naming the document and field. It reads
// the whole collection. Use a distinctive piece of each value as a needle,
// so a value split or framed by other bytes still shows.
func NoPlaintext(t *testing.T, coll *docstore.Collection, needles ...string) {
	t.Helper()
	docs := Snapshot(t, coll)
	for _, n := range needles {
		for _, where := range FindPlaintext(docs, []byte(n)) {
			t.Errorf("the store holds %q in clear at %s", n, where)
		}
	}
}
