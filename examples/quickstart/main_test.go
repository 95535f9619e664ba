package main

import (
	"context"
	"testing"
)

// TestRun runs the quickstart end to end: `go run ./examples/quickstart`
// must exit 0 on a fresh clone.
func TestRun(t *testing.T) {
	if err := run(context.Background()); err != nil {
		t.Fatal(err)
	}
}
