// Package keepertest holds what the tests of coffer's keepers share, in the
// library module and in the nested test modules (internal/vaulttest) that
// keep a keeper's client out of the library's go.mod: the whole Manager flow
// through coffer.Open on one keeper URL, a keeper round trip, a two-keeper
// cryptotest harness, and a reader of the data key each stored secret is
// sealed under.
package keepertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/internal/layout"
)

// MemURL returns the URL of a fresh, uniquely named in-memory collection.
func MemURL(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "mem://" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + hex.EncodeToString(b)
}

// Flow runs the whole Manager flow through coffer.Open with the keeper at
// keeperURL: create, list, reveal (a value over the 4096 bytes KMS could
// encrypt itself), update, rotate, reseal, delete, a cold Manager reading it
// all, and a move of the keyring to the keeper at movedURL, after which the
// first keeper no longer opens it.
func Flow(t *testing.T, keeperURL, movedURL string) {
	t.Helper()
	FlowWith(t, URLKeepers(keeperURL, movedURL))
}

// Keepers gives FlowWith its Managers, for keepers that no URL opens (a
// client of a stand-in server, say).
type Keepers struct {
	// Open opens a Manager on the collection at collURL with the keeper
	// the keyring starts under or, when moved, the one it moves to.
	Open func(ctx context.Context, collURL string, moved bool, opts *coffer.Options) (*coffer.Manager, error)
	// Moved opens the keeper the keyring moves to.
	Moved func(ctx context.Context) (*secrets.Keeper, error)
}

// URLKeepers opens Managers through coffer.Open with the keeper URLs.
func URLKeepers(keeperURL, movedURL string) Keepers {
	return Keepers{
		Open: func(ctx context.Context, collURL string, moved bool, opts *coffer.Options) (*coffer.Manager, error) {
			if moved {
				return coffer.Open(ctx, collURL, movedURL, opts)
			}
			return coffer.Open(ctx, collURL, keeperURL, opts)
		},
		Moved: func(ctx context.Context) (*secrets.Keeper, error) { return secrets.OpenKeeper(ctx, movedURL) },
	}
}

// FlowWith runs Flow's Manager flow with the Managers and keepers of k.
func FlowWith(t *testing.T, k Keepers) {
	t.Helper()
	ctx := context.Background()
	collURL := MemURL(t)
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	m, err := k.Open(ctx, collURL, false, &coffer.Options{Project: "shop", Environment: "production", Now: func() time.Time { return fixed }})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	big := strings.Repeat("-----BEGIN CERTIFICATE-----0123456789abcdef\n", 200) // 8,800 bytes
	values := map[string]string{"DATABASE_URL": "postgres://app:hunter2@db/app", "TLS_CERT": big}
	for _, k := range []string{"DATABASE_URL", "TLS_CERT"} {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: k, Value: coffer.Value(values[k])}); err != nil {
			t.Fatalf("Create(%s): %v", k, err)
		}
	}
	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"DATABASE_URL", "TLS_CERT"}, backendtest.Keys(list)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	check := func(m *coffer.Manager) {
		t.Helper()
		for k, want := range values {
			if v, err := m.Reveal(ctx, k); err != nil || string(v) != want {
				t.Errorf("Reveal %s: %d bytes, %v; want %d bytes", k, len(v), err, len(want))
			}
		}
	}
	check(m)
	values["DATABASE_URL"] = "postgres://app:correct-horse@db/app"
	if _, err := m.Update(ctx, "DATABASE_URL", coffer.Change{Value: coffer.Value(values["DATABASE_URL"])}); err != nil {
		t.Fatal(err)
	}
	if err := m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	stats, err := m.Reseal(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Two secrets and the version DATABASE_URL's Update kept: Reseal covers
	// history too.
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 3, Resealed: 3}, stats); diff != "" {
		t.Errorf("Reseal (-want +got):\n%s", diff)
	}
	coll, err := backend.OpenCollection(ctx, collURL)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint32]int{2: 3}, CountKeys(KeyIDs(t, coll))); diff != "" {
		t.Errorf("records per data key (-want +got):\n%s", diff)
	}
	check(m)
	cold, err := k.Open(ctx, collURL, false, &coffer.Options{Project: "shop", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	check(cold)

	// Move the keyring to the other keeper: afterwards only that keeper
	// unwraps it.
	moved, err := k.Moved(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if err := m.ChangeKeeper(ctx, moved); err != nil {
		t.Fatal(err)
	}
	afterMove, err := k.Open(ctx, collURL, true, &coffer.Options{Project: "shop", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer afterMove.Close()
	check(afterMove)
	oldOnly, err := k.Open(ctx, collURL, false, &coffer.Options{Project: "shop", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer oldOnly.Close()
	if _, err := oldOnly.Reveal(ctx, "TLS_CERT"); !errors.Is(err, coffer.ErrDecrypt) {
		t.Errorf("Reveal with the old keeper after the move: %v, want ErrDecrypt", err)
	}

	if err := m.Delete(ctx, "TLS_CERT"); err != nil {
		t.Fatal(err)
	}
	if _, err := afterMove.Reveal(ctx, "TLS_CERT"); !errors.Is(err, coffer.ErrNotFound) {
		t.Errorf("Reveal after Delete: %v, want ErrNotFound", err)
	}
}

// RoundTrip opens the keeper at keeperURL, encrypts a plaintext, checks the
// ciphertext does not show it and decrypts it back. It returns the
// ciphertext.
func RoundTrip(t testing.TB, keeperURL string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	keeper, err := secrets.OpenKeeper(ctx, keeperURL)
	if err != nil {
		t.Fatal(err)
	}
	defer keeper.Close()
	plaintext := []byte("coffer smoke plaintext")
	ciphertext, err := keeper.Encrypt(ctx, plaintext)
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	if strings.Contains(string(ciphertext), string(plaintext)) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := keeper.Decrypt(ctx, ciphertext)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	if diff := cmp.Diff(plaintext, got); diff != "" {
		t.Errorf("Decrypt(Encrypt(p)) (-want +got):\n%s", diff)
	}
	return ciphertext
}

// Pair is a cryptotest.Harness over two keepers made up front; K2 must not
// unwrap what K1 wrapped. Close closes both.
type Pair struct{ K1, K2 *secrets.Keeper }

// MakeKeepers returns the two keepers.
func (p Pair) MakeKeepers(context.Context) (*secrets.Keeper, *secrets.Keeper, error) {
	return p.K1, p.K2, nil
}

// Close closes both keepers.
func (p Pair) Close() {
	_ = p.K1.Close()
	_ = p.K2.Close()
}

// KeyIDs returns the data-key id of every sealed document (secret records
// and kept versions), by ID, read from the raw documents.
func KeyIDs(t testing.TB, coll *docstore.Collection) map[string]uint32 {
	t.Helper()
	out := map[string]uint32{}
	it := coll.Query().Get(context.Background(), "ID", "Scope", "Sealed")
	defer it.Stop()
	for {
		rec := &layout.Record{}
		err := it.Next(context.Background(), rec)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Scope == layout.KeyringScope {
			continue
		}
		env, err := crypto.Parse(rec.Sealed)
		if err != nil {
			t.Fatalf("%s: %v", rec.ID, err)
		}
		out[rec.ID] = env.KeyID
	}
}

// CountKeys counts the sealed documents under each data key.
func CountKeys(ids map[string]uint32) map[uint32]int {
	out := map[uint32]int{}
	for _, id := range ids {
		out[id]++
	}
	return out
}
