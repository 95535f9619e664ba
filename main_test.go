package coffer_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a store or
// keeper call that hung or failed must not strand one.
//
// The ignored functions belong to gocloud's gcpkms URL opener, which keeps
// one gRPC client for the life of the process (its keeper's Close does
// nothing); they appear once a test opens a gcpkms:// keeper.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc.(*addrConn).resetTransportAndUnlock"),
	)
}
