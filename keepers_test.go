package coffer_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "gocloud.dev/secrets/awskms"
	_ "gocloud.dev/secrets/azurekeyvault"
	_ "gocloud.dev/secrets/gcpkms"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/keepertest"
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

// TestOpenAWSKMS runs the whole Manager flow through coffer.Open with an
// awskms:// keeper on local-kms; the move is to the same key bound to
// another encryption context. (The hashivault:// flow on Vault is
// internal/vaulttest's TestOpenVaultTransit, a module of its own.)
func TestOpenAWSKMS(t *testing.T) {
	keepertest.Flow(t, kmsKeeperURL(t, ""), kmsKeeperURL(t, "&context_coffer=moved"))
}

// TestOpenKeeperURLs: with the drivers blank-imported, Open accepts each
// keeper scheme coffer documents (hashivault:// is internal/vaulttest's, the
// module that holds its driver). Opening makes no keeper call (the keyring
// is read on first use), so this needs no cloud account; the credentials
// below are placeholders that are never sent.
func TestOpenKeeperURLs(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "adc.json")
	if err := os.WriteFile(creds, []byte(`{"type":"authorized_user","client_id":"id","client_secret":"secret","refresh_token":"token"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", creds)
	ctx := context.Background()
	for _, u := range []string{
		"base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=",
		"awskms://alias/coffer?region=eu-west-2",
		"gcpkms://projects/p/locations/global/keyRings/coffer/cryptoKeys/data-keys",
		"azurekeyvault://coffer.vault.azure.net/keys/data-keys",
	} {
		m, err := coffer.Open(ctx, keepertest.MemURL(t), u, nil)
		if err != nil {
			t.Errorf("Open with %s: %v", strings.SplitN(u, ":", 2)[0], err)
			continue
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	_, err := coffer.Open(ctx, keepertest.MemURL(t), "nosuchkms://secret-key-name", nil)
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
