package vaulttest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/hashicorp/vault/api"
	"gocloud.dev/secrets/hashivault"

	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/keepertest"
	"github.com/coffer-go/coffer/internal/testengine"
)

// vaultEnv returns the Vault server's address and token, failing under CI
// (skipping otherwise) when the engines are not running.
func vaultEnv(t *testing.T) (addr, token string) {
	t.Helper()
	addr = testengine.Env(t, testengine.VaultAddr)
	token = testengine.Env(t, "VAULT_TOKEN")
	// hashivault's URL opener reads VAULT_ADDR, which .engines.env sets to
	// the same address.
	testengine.Env(t, "VAULT_ADDR")
	return addr, token
}

// TestVault: the Vault server answers with the token in .engines.env, its
// transit engine makes a key on first use, and what it returns is transit
// ciphertext (vault:v1:...).
func TestVault(t *testing.T) {
	vaultEnv(t)
	ciphertext := keepertest.RoundTrip(t, "hashivault://coffer-smoke")
	if !strings.HasPrefix(string(ciphertext), "vault:v1:") {
		t.Errorf("ciphertext %q is not transit's", ciphertext)
	}
}

// TestOpenVaultTransit runs the whole Manager flow through coffer.Open with
// a hashivault:// keeper (its URL opener reads VAULT_ADDR and VAULT_TOKEN);
// the move is to another transit key. Transit makes each key on its first
// use.
func TestOpenVaultTransit(t *testing.T) {
	vaultEnv(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "coffer-e2e-" + hex.EncodeToString(b)
	keepertest.Flow(t, "hashivault://"+name, "hashivault://"+name+"-moved")
}

// TestVaultTransit runs crypto/cryptotest's conformance suite on the transit
// engine.
func TestVaultTransit(t *testing.T) {
	addr, token := vaultEnv(t)
	ctx := context.Background()
	client, err := hashivault.Dial(ctx, &hashivault.Config{Token: token, APIConfig: api.Config{Address: addr}})
	if err != nil {
		t.Fatal(err)
	}
	cryptotest.RunConformanceTests(t, func(context.Context, *testing.T) (cryptotest.Harness, error) {
		// Transit creates each key on its first Encrypt.
		return keepertest.Pair{K1: hashivault.OpenKeeper(client, "coffer-test-1", nil), K2: hashivault.OpenKeeper(client, "coffer-test-2", nil)}, nil
	})
}
