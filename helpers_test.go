package coffer_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
)

// env is one Manager with raw access to what it stores.
type env struct {
	m      *coffer.Manager
	coll   *docstore.Collection
	keeper *secrets.Keeper
	audit  *syncBuffer
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
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
	audit := &syncBuffer{}
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

// snapshot returns every stored document, keyed by ID, as the store holds it.
func snapshot(t *testing.T, coll *docstore.Collection) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	it := coll.Query().Get(context.Background())
	defer it.Stop()
	for {
		doc := map[string]any{}
		err := it.Next(context.Background(), doc)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[doc["ID"].(string)] = doc
	}
}

// unchanged fails the test when the store differs from before.
func unchanged(t *testing.T, coll *docstore.Collection, before map[string]map[string]any) {
	t.Helper()
	if diff := cmp.Diff(before, snapshot(t, coll)); diff != "" {
		t.Errorf("store changed by a rejected call (-before +after):\n%s", diff)
	}
}

func keysOf(list []coffer.Secret) []string {
	keys := make([]string, len(list))
	for i, s := range list {
		keys[i] = s.Key
	}
	return keys
}

func sorted(s []string) []string {
	s = append([]string(nil), s...)
	sort.Strings(s)
	return s
}

func mustCreate(t *testing.T, m *coffer.Manager, key, value string) coffer.Secret {
	t.Helper()
	s, err := m.Create(context.Background(), coffer.NewSecret{Key: key, Value: coffer.Value(value)})
	if err != nil {
		t.Fatalf("Create(%s): %v", key, err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }
