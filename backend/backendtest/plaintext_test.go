package backendtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestFindPlaintext: the scan sees a value wherever a document holds its
// bytes, including where a rendering of the document would not show them.
func TestFindPlaintext(t *testing.T) {
	needle := []byte("d4f1e9")
	docs := map[string]map[string]any{
		"a": {
			"ID":     "a",
			"Sealed": []byte("\x01\x00\x00\x00\x01nonce-CANARY-d4f1e9-value"),
			"Keys": []any{
				map[string]any{"ID": int64(1), "Wrapped": []byte("xx")},
				map[string]any{"ID": int64(2), "Wrapped": []byte("..d4f1e9..")},
			},
			"Nested": map[string]any{"Deeper": map[string]any{"Text": "prefix d4f1e9"}},
			"d4f1e9": true,
			"Array":  [8]byte{'d', '4', 'f', '1', 'e', '9', 0, 0},
			"Typed":  []string{"ok", "has d4f1e9"},
		},
		"b": {
			"ID":        "b",
			"Sealed":    []byte("no value here"),
			"CreatedAt": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			"Version":   int64(3),
			"Nil":       nil,
		},
	}
	want := []string{
		"a.(field name d4f1e9)",
		"a.Array",
		"a.Keys[1].Wrapped",
		"a.Nested.Deeper.Text",
		"a.Sealed",
		"a.Typed[1]",
	}
	if diff := cmp.Diff(want, FindPlaintext(docs, needle)); diff != "" {
		t.Errorf("FindPlaintext (-want +got):\n%s", diff)
	}
	// The renderings the scan replaces miss the nested bytes: JSON shows a
	// []byte as base64 and fmt as numbers.
	b, err := json.Marshal(docs["a"]["Keys"])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "d4f1e9") || strings.Contains(fmt.Sprint(docs["a"]["Keys"]), "d4f1e9") {
		t.Errorf("a rendering shows the nested bytes; this test no longer shows why the raw scan is needed")
	}
	if got := FindPlaintext(docs, nil); got != nil {
		t.Errorf("an empty needle matched %v", got)
	}
}
