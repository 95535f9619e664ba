package coffer_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/keepertest"
	"github.com/coffer-go/coffer/internal/layout"
)

// TestTamperCopiedValue: a sealed value copied, in the raw store, onto
// another key, another environment, or the same key after it was deleted
// and created again fails with ErrDecrypt, and the error holds no value.
func TestTamperCopiedValue(t *testing.T) {
	clk := newClock()
	e := newEnv(t, &coffer.Options{Now: clk.Now})
	ctx := context.Background()
	staging, err := e.m.Environment("staging")
	if err != nil {
		t.Fatal(err)
	}
	canaries := []string{"canary-api-7f3a", "canary-other-91c2", "canary-staging-55d0", "canary-recreated-0b8e"}
	mustCreate(t, e.m, "API_KEY", canaries[0])
	mustCreate(t, e.m, "OTHER_KEY", canaries[1])
	mustCreate(t, staging, "API_KEY", canaries[2])
	for _, m := range []*coffer.Manager{e.m, staging} {
		if _, err := m.Reveal(ctx, "API_KEY"); err != nil {
			t.Fatalf("Reveal before tampering: %v", err)
		}
	}
	checkDecrypt := func(what string, m *coffer.Manager, key string) {
		t.Helper()
		_, err := m.Reveal(ctx, key)
		if !errors.Is(err, coffer.ErrDecrypt) {
			t.Errorf("%s: Reveal = %v, want ErrDecrypt", what, err)
		}
		for _, c := range canaries {
			if err != nil && strings.Contains(err.Error(), c) {
				t.Errorf("%s: the error holds a value: %v", what, err)
			}
		}
	}
	copySealed(t, e.coll, "default/default/API_KEY", "default/default/OTHER_KEY")
	checkDecrypt("copied onto another key", e.m, "OTHER_KEY")
	if _, err := e.m.Environ(ctx); !errors.Is(err, coffer.ErrDecrypt) {
		t.Errorf("Environ with a copied value: %v, want ErrDecrypt", err)
	}
	copySealed(t, e.coll, "default/default/API_KEY", "default/staging/API_KEY")
	checkDecrypt("copied onto another environment", staging, "API_KEY")

	old := &layout.Record{ID: "default/default/API_KEY"}
	if err := e.coll.Get(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(ctx, "API_KEY"); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	mustCreate(t, e.m, "API_KEY", canaries[3])
	if v, err := e.m.Reveal(ctx, "API_KEY"); err != nil || string(v) != canaries[3] {
		t.Fatalf("Reveal of the new API_KEY = %v", err)
	}
	rec := &layout.Record{ID: "default/default/API_KEY"}
	if err := e.coll.Get(ctx, rec); err != nil {
		t.Fatal(err)
	}
	rec.Sealed = old.Sealed
	if err := e.coll.Replace(ctx, rec); err != nil {
		t.Fatal(err)
	}
	checkDecrypt("the deleted secret's value copied onto its re-created key", e.m, "API_KEY")
}

// TestKeeperCalls: a warm Manager makes no keeper call for 10,000 Reveals; a
// cold one makes exactly one Decrypt per data key of the keyring.
func TestKeeperCalls(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	counter := cryptotest.NewCountingKeeper(e.keeper)
	warm, err := coffer.New(e.coll, counter.Keeper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if i > 0 {
			if err := warm.RotateDataKey(ctx); err != nil {
				t.Fatal(err)
			}
		}
		mustCreate(t, warm, fmt.Sprintf("KEY_%d", i+1), fmt.Sprintf("under data key %d", i+1))
	}
	if got := keepertest.CountKeys(keepertest.KeyIDs(t, e.coll)); len(got) != 3 {
		t.Fatalf("secrets are under %d data keys, want 3", len(got))
	}
	reveal := func(m *coffer.Manager, n int) {
		t.Helper()
		for i := range n {
			key := fmt.Sprintf("KEY_%d", i%3+1)
			if v, err := m.Reveal(ctx, key); err != nil || string(v) != fmt.Sprintf("under data key %d", i%3+1) {
				t.Fatalf("Reveal %s = %v", key, err)
			}
		}
	}
	counter.Reset()
	reveal(warm, 10000)
	if got := [2]int{counter.Encrypts(), counter.Decrypts()}; got != [2]int{0, 0} {
		t.Errorf("10,000 Reveals on a warm Manager: %d Encrypt and %d Decrypt calls, want none", got[0], got[1])
	}
	coldCounter := cryptotest.NewCountingKeeper(e.keeper)
	cold, err := coffer.New(e.coll, coldCounter.Keeper(), nil)
	if err != nil {
		t.Fatal(err)
	}
	reveal(cold, 3)
	if got := [2]int{coldCounter.Encrypts(), coldCounter.Decrypts()}; got != [2]int{0, 3} {
		t.Errorf("a cold Manager over a keyring of 3 data keys: %d Encrypt and %d Decrypt calls, want 0 and 3", got[0], got[1])
	}
	reveal(cold, 10000)
	if got := coldCounter.Decrypts(); got != 3 {
		t.Errorf("then 10,000 Reveals: %d Decrypt calls in all, want still 3", got)
	}

	// A rotation costs one Encrypt (the new key) and two Decrypts: proof
	// that this keeper still unwraps the active key, and proof that the new
	// key's wrapped bytes unwrap to the key itself; Reseal on the Manager that
	// rotated costs none.
	counter.Reset()
	if err := warm.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	if got := [2]int{counter.Encrypts(), counter.Decrypts()}; got != [2]int{1, 2} {
		t.Errorf("RotateDataKey: %d Encrypt and %d Decrypt calls, want 1 and 2", got[0], got[1])
	}
	counter.Reset()
	stats, err := warm.Reseal(ctx, nil)
	if err != nil || stats.Resealed != 3 {
		t.Fatalf("Reseal: %+v, %v", stats, err)
	}
	if got := [2]int{counter.Encrypts(), counter.Decrypts()}; got != [2]int{0, 0} {
		t.Errorf("Reseal of 3 records: %d Encrypt and %d Decrypt calls, want none", got[0], got[1])
	}
}

// TestKeyringFreshness: a Manager that read the keyring before another
// process rotated seals under the old key for at most crypto.RefreshInterval,
// re-reading the keyring document (no keeper call but for the new key) only
// once that interval has passed.
func TestKeyringFreshness(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	clk := newClock()
	counter := cryptotest.NewCountingKeeper(e.keeper)
	stale, err := coffer.New(e.coll, counter.Keeper(), &coffer.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, stale, "FIRST", "v")
	if err := e.m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	clk.Add(crypto.RefreshInterval - time.Millisecond)
	mustCreate(t, stale, "WITHIN_BOUND", "v")
	clk.Add(time.Millisecond)
	mustCreate(t, stale, "AFTER_BOUND", "v")
	for range 100 {
		if _, err := stale.Update(ctx, "FIRST", coffer.Change{Value: "again"}); err != nil {
			t.Fatal(err)
		}
	}
	got := keepertest.KeyIDs(t, e.coll)
	want := map[string]uint32{"default/default/FIRST": 2, "default/default/WITHIN_BOUND": 1, "default/default/AFTER_BOUND": 2}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s sealed under key %d, want %d", id, got[id], w)
		}
	}
	if got := [2]int{counter.Encrypts(), counter.Decrypts()}; got != [2]int{0, 1} {
		t.Errorf("refresh and 102 writes: %d Encrypt and %d Decrypt calls, want 0 and 1 (the new key)", got[0], got[1])
	}

	// Within the interval no write reads the keyring document: with the
	// document gone, writes still succeed; the first write after the
	// interval reads it and finds it missing.
	kr := layout.NewKeyringRecord()
	if err := e.coll.Get(ctx, kr); err != nil {
		t.Fatal(err)
	}
	if err := e.coll.Delete(ctx, kr); err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		mustCreate(t, stale, fmt.Sprintf("NO_READ_%d", i), "v")
	}
	clk.Add(crypto.RefreshInterval)
	if _, err := stale.Create(ctx, coffer.NewSecret{Key: "READS", Value: "v"}); err == nil || !strings.Contains(err.Error(), "keyring document has disappeared") {
		t.Errorf("Create after the interval without a keyring document: %v, want the keyring reported missing", err)
	}
}
