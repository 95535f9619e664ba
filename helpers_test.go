package coffer_test

import (
	"context"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
)

// env is one Manager with raw access to what it stores.
type env struct {
	m      *coffer.Manager
	coll   *docstore.Collection
	keeper *secrets.Keeper
	audit  *coffertest.AuditBuffer
}

// fixedNow is the clock of tests that compare times.
var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// newEnv returns a Manager over a fresh in-memory collection, with the
// fixed clock unless opts sets one.
func newEnv(t *testing.T, opts *coffer.Options) *env {
	t.Helper()
	f := coffertest.New(t, nil, coffertest.WithClock(opts, fixedNow))
	return &env{m: f.Manager, coll: f.Collection, keeper: f.Keeper, audit: f.Audit}
}

// canary is a value distinctive enough to search for in everything coffer
// writes or says.
const canary = "CANARY-d4f1e9-value"

// canaryCore is the canary's distinctive middle, searched for so that a
// value split or framed by other bytes still shows.
const canaryCore = "d4f1e9"

func mustCreate(t *testing.T, m *coffer.Manager, key, value string) coffer.Secret {
	t.Helper()
	s, err := m.Create(context.Background(), coffer.NewSecret{Key: key, Value: coffer.Value(value)})
	if err != nil {
		t.Fatalf("Create(%s): %v", key, err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }
