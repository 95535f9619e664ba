package coffer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a store or
// keeper call that hung or failed must not strand one.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
