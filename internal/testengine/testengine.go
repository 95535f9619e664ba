// Package testengine gives integration tests the address of a real engine
// (PostgreSQL, FerretDB, dynalite, local-kms, Chromium) from the environment.
package testengine

import (
	"os"
	"testing"
)

// Env returns the environment variable name. When it is empty the test is
// skipped with a message saying how to start the engines, except under
// CI=true, where a missing engine fails the test: CI skips nothing.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := name + " is not set: start the engines with `bash scripts/engines.sh start` and source .engines.env"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}
