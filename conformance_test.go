package coffer_test

import (
	"context"
	"testing"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
)

// memHarness makes in-memory collections (memdocstore).
type memHarness struct{}

func (memHarness) MakeCollection(context.Context, *testing.T) (*docstore.Collection, error) {
	return backend.OpenMemCollection()
}

func (memHarness) Close() {}

// TestConformance runs the backend conformance suite on memdocstore, the
// collection of tests, demos and coffertest.
func TestConformance(t *testing.T) {
	backendtest.RunConformanceTests(t, func(context.Context, *testing.T) (backendtest.Harness, error) {
		return memHarness{}, nil
	})
}
