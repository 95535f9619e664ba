// Package coffertest gives users' own test suites a ready coffer.Manager:
// in memory, sealed under a random key, closed when the test ends.
package coffertest

import (
	"testing"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
)

// NewManager returns a Manager over a fresh in-memory collection and a
// keeper with a random key, closed by t.Cleanup. opts may be nil.
func NewManager(t testing.TB, opts *coffer.Options) *coffer.Manager {
	t.Helper()
	coll, err := backend.OpenMemCollection()
	if err != nil {
		t.Fatalf("coffertest: open collection: %v", err)
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatalf("coffertest: generate key: %v", err)
	}
	keeper := localsecrets.NewKeeper(key)
	m, err := coffer.New(coll, keeper, opts)
	if err != nil {
		t.Fatalf("coffertest: new manager: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("coffertest: close manager: %v", err)
		}
		_ = keeper.Close()
		_ = coll.Close()
	})
	return m
}
