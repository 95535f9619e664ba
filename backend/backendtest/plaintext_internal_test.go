package backendtest

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestFindPlaintextUnexported: a document holding a value with unexported
// byte fields (Firestore's revision is a protobuf Timestamp, whose internals
// are unexported) is scanned without a panic, and bytes inside unexported
// fields are still seen.
func TestFindPlaintextUnexported(t *testing.T) {
	type inner struct{ secret []byte }
	docs := map[string]map[string]any{
		"a": {"DocstoreRevision": timestamppb.New(time.Unix(1, 0))},
		"b": {"X": inner{secret: []byte("xxCANARYxx")}},
	}
	got := FindPlaintext(docs, []byte("CANARY"))
	if len(got) != 1 || got[0] != "b.X.secret" {
		t.Errorf("FindPlaintext = %q, want [b.X.secret]", got)
	}
}
