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
// nothing); they appear once a test opens a gcpkms:// keeper. The
// net/http ones are idle keep-alive connections of the AWS SDK's shared
// transport, left open to local-kms by the awskms tests; coffer opens no
// HTTP connection of its own.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("google.golang.org/grpc/internal/grpcsync.(*CallbackSerializer).run"),
		goleak.IgnoreTopFunction("google.golang.org/grpc.(*addrConn).resetTransportAndUnlock"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}
