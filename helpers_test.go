package coffer_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
)

// env is one Manager with raw access to what it stores.
type env struct {
	m      *coffer.Manager
	coll   *docstore.Collection
	keeper *secrets.Keeper
	audit  *backendtest.AuditBuffer
}

// fixedNow is the clock of tests that compare times.
var fixedNow = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, opts *coffer.Options) *env {
	t.Helper()
	coll, err := backend.OpenMemCollection()
	if err != nil {
		t.Fatal(err)
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	keeper := localsecrets.NewKeeper(key)
	audit := &backendtest.AuditBuffer{}
	var o coffer.Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = func() time.Time { return fixedNow }
	}
	if o.AuditLog == nil {
		o.AuditLog = slog.New(slog.NewJSONHandler(audit, nil))
	}
	m, err := coffer.New(coll, keeper, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		m.Close()
		keeper.Close()
		coll.Close()
	})
	return &env{m: m, coll: coll, keeper: keeper, audit: audit}
}

// canary is a value distinctive enough to search for in everything coffer
// writes or says.
const canary = "CANARY-d4f1e9-value"

func mustCreate(t *testing.T, m *coffer.Manager, key, value string) coffer.Secret {
	t.Helper()
	s, err := m.Create(context.Background(), coffer.NewSecret{Key: key, Value: coffer.Value(value)})
	if err != nil {
		t.Fatalf("Create(%s): %v", key, err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }
