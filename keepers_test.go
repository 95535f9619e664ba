package coffer_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/secrets"
	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"
	_ "gocloud.dev/secrets/hashivault"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/internal/testengine"
)

// kmsKeeperURL returns the awskms:// URL of the local-kms key, with encryption
// context params appended, setting the client's credentials when the
// environment has none (local-kms accepts any).
func kmsKeeperURL(t *testing.T, params string) string {
	t.Helper()
	endpoint := testengine.Env(t, "COFFER_KMS_ENDPOINT")
	for name, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"} {
		if os.Getenv(name) == "" {
			t.Setenv(name, v)
		}
	}
	return "awskms://alias/coffer-test?region=eu-west-2&endpoint=" + url.QueryEscape(endpoint) + params
}

// memURL returns the URL of a fresh, uniquely named in-memory collection.
func memURL(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "mem://" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + hex.EncodeToString(b)
}

// TestOpenAWSKMS runs the whole Manager flow through coffer.Open with an
// awskms:// keeper on local-kms; the move is to the same key bound to
// another encryption context.
func TestOpenAWSKMS(t *testing.T) {
	keeperFlow(t, kmsKeeperURL(t, ""), kmsKeeperURL(t, "&context_coffer=moved"))
}

// TestOpenVaultTransit runs the whole Manager flow through coffer.Open with
// a hashivault:// keeper on the Vault server of scripts/engines.sh (its URL
// opener reads VAULT_ADDR and VAULT_TOKEN); the move is to another transit
// key. Transit makes each key on its first use.
func TestOpenVaultTransit(t *testing.T) {
	testengine.Env(t, testengine.VaultAddr)
	testengine.Env(t, "VAULT_TOKEN")
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "coffer-e2e-" + hex.EncodeToString(b)
	keeperFlow(t, "hashivault://"+name, "hashivault://"+name+"-moved")
}

// keeperFlow runs the whole Manager flow through coffer.Open with the
// keeper at keeperURL: create, list, reveal (a value over the 4096 bytes
// KMS could encrypt itself), update, rotate, reseal, delete, a cold Manager
// reading it all, and a move of the keyring to the keeper at movedURL,
// after which the first keeper no longer opens it.
func keeperFlow(t *testing.T, keeperURL, movedURL string) {
	t.Helper()
	ctx := context.Background()
	collURL := memURL(t)
	m, err := coffer.Open(ctx, collURL, keeperURL, &coffer.Options{Project: "shop", Environment: "production", Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	big := strings.Repeat("-----BEGIN CERTIFICATE-----0123456789abcdef\n", 200) // 8,800 bytes
	values := map[string]string{"DATABASE_URL": "postgres://app:hunter2@db/app", "TLS_CERT": big}
	for _, k := range []string{"DATABASE_URL", "TLS_CERT"} {
		mustCreate(t, m, k, values[k])
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
	if diff := cmp.Diff(coffer.ResealStats{KeyID: 2, Total: 2, Resealed: 2}, stats); diff != "" {
		t.Errorf("Reseal (-want +got):\n%s", diff)
	}
	coll, err := backend.OpenCollection(ctx, collURL)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint32]int{2: 2}, countKeys(keyIDs(t, coll))); diff != "" {
		t.Errorf("records per data key (-want +got):\n%s", diff)
	}
	check(m)
	cold, err := coffer.Open(ctx, collURL, keeperURL, &coffer.Options{Project: "shop", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	check(cold)

	// Move the keyring to the other keeper: afterwards only that keeper
	// unwraps it.
	moved, err := secrets.OpenKeeper(ctx, movedURL)
	if err != nil {
		t.Fatal(err)
	}
	defer moved.Close()
	if err := m.ChangeKeeper(ctx, moved); err != nil {
		t.Fatal(err)
	}
	afterMove, err := coffer.Open(ctx, collURL, movedURL, &coffer.Options{Project: "shop", Environment: "production"})
	if err != nil {
		t.Fatal(err)
	}
	defer afterMove.Close()
	check(afterMove)
	oldOnly, err := coffer.Open(ctx, collURL, keeperURL, &coffer.Options{Project: "shop", Environment: "production"})
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

// TestOpenKeeperURLs: with the drivers blank-imported, Open accepts each
// keeper scheme coffer documents. Opening makes no keeper call (the keyring
// is read on first use), so this needs no cloud account; the credentials
// below are placeholders that are never sent.
func TestOpenKeeperURLs(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(creds, []byte(`{"type":"authorized_user","client_id":"id","client_secret":"secret","refresh_token":"token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", creds)
	if os.Getenv("VAULT_ADDR") == "" {
		t.Setenv("VAULT_ADDR", "http://127.0.0.1:8200")
	}
	ctx := context.Background()
	for _, u := range []string{
		"base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=",
		"awskms://alias/coffer?region=eu-west-2",
		"gcpkms://projects/p/locations/global/keyRings/coffer/cryptoKeys/data-keys",
		"azurekeyvault://coffer.vault.azure.net/keys/data-keys",
		"hashivault://coffer-data-keys",
	} {
		m, err := coffer.Open(ctx, memURL(t), u, nil)
		if err != nil {
			t.Errorf("Open with %s: %v", strings.SplitN(u, ":", 2)[0], err)
			continue
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	_, err := coffer.Open(ctx, memURL(t), "nosuchkms://secret-key-name", nil)
	if err == nil || strings.Contains(err.Error(), "secret-key-name") {
		t.Errorf("Open with an unknown scheme: %v; want an error without the URL", err)
	}
}

// TestRootLinksOnlyLocalSecrets: the coffer package itself links no cloud
// keeper driver; programs blank-import the ones they use.
func TestRootLinksOnlyLocalSecrets(t *testing.T) {
	deps := goListDeps(t)
	if !contains(deps, "gocloud.dev/secrets/localsecrets") {
		t.Error("the coffer package does not link localsecrets")
	}
	for _, d := range deps {
		for _, driver := range []string{"gocloud.dev/secrets/awskms", "gocloud.dev/secrets/gcpkms", "gocloud.dev/secrets/azurekeyvault", "gocloud.dev/secrets/hashivault"} {
			if d == driver {
				t.Errorf("the coffer package links %s", d)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
