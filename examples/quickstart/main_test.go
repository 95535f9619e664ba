package main

import (
	"context"
	"testing"
)

// TestRun runs the quickstart end to end, as `go run ./examples/quickstart`
// does on a fresh clone: it must succeed, including the restart from the
// SQLite file.
func TestRun(t *testing.T) {
	if err := run(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
}

// TestRunTwice runs it twice on one data directory: the second run finds the
// first run's secrets, starts over and succeeds.
func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	for i := range 2 {
		if err := run(context.Background(), dir); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
}
