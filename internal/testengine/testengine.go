// Package testengine gives tests the address of a real engine (PostgreSQL,
// FerretDB, dynalite, local-kms, Chromium) from the environment.
package testengine

import (
	"os"
	"testing"
)

// Env returns os.Getenv(name). When the variable is empty the test cannot
// reach its engine: under CI (CI=true) that is a failure, because CI starts
// every engine; elsewhere the test is skipped with a message saying how to
// start the engines.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := "%s is not set: start the engines with `bash scripts/engines.sh start` and source .engines.env"
	if os.Getenv("CI") == "true" {
		t.Fatalf(msg, name)
	}
	t.Skipf(msg, name)
	return ""
}
