package coffer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	kms "cloud.google.com/go/kms/apiv1"
	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/gcpkms"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/internal/gcpkmsstub"
	"github.com/coffer-go/coffer/internal/keepertest"
)

// No emulator of Cloud KMS exists: these tests run gocloud's gcpkms keeper,
// with Google's Cloud KMS client, against internal/gcpkmsstub, an in-repo
// stand-in of the API's Encrypt and Decrypt calls on 127.0.0.1. They show
// coffer's side of the contract; they are no test of Google's service.

// gcpKeyRing is the key ring of the stand-in's keys.
const gcpKeyRing = "projects/coffer-test/locations/global/keyRings/coffer/cryptoKeys/"

// startGCPKMS starts the stand-in with the keys "data-keys" and "moved",
// and returns it with a client of it.
func startGCPKMS(t *testing.T) (*gcpkmsstub.Server, *kms.KeyManagementClient) {
	t.Helper()
	stub, err := gcpkmsstub.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stub.Close)
	for _, k := range []string{"data-keys", "moved"} {
		if err := stub.CreateKey(gcpKeyRing + k); err != nil {
			t.Fatal(err)
		}
	}
	client, err := stub.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return stub, client
}

// gcpManager returns a Manager on the collection at collURL with the gcpkms
// keeper of key (a name in gcpKeyRing). The Manager's Close leaves both
// open: mem:// collections are shared by name, and the keeper's client
// belongs to the test.
func gcpManager(ctx context.Context, client *kms.KeyManagementClient, collURL, key string, opts *coffer.Options) (*coffer.Manager, error) {
	coll, err := backend.OpenCollection(ctx, collURL)
	if err != nil {
		return nil, err
	}
	return coffer.New(coll, gcpkms.OpenKeeper(client, gcpKeyRing+key, nil), opts)
}

// TestGCPKMSStandIn runs the whole Manager flow with gcpkms keepers: the
// keyring starts under the key data-keys and moves to the key moved.
func TestGCPKMSStandIn(t *testing.T) {
	_, client := startGCPKMS(t)
	keepertest.FlowWith(t, keepertest.Keepers{
		Open: func(ctx context.Context, collURL string, moved bool, opts *coffer.Options) (*coffer.Manager, error) {
			if moved {
				return gcpManager(ctx, client, collURL, "moved", opts)
			}
			return gcpManager(ctx, client, collURL, "data-keys", opts)
		},
		Moved: func(context.Context) (*secrets.Keeper, error) {
			return gcpkms.OpenKeeper(client, gcpKeyRing+"moved", nil), nil
		},
	})
}

// TestGCPKMSWrongKeyName: a keeper naming a key that does not exist fails
// the first write with Cloud KMS's NotFound, naming the key, and stores
// nothing.
func TestGCPKMSWrongKeyName(t *testing.T) {
	_, client := startGCPKMS(t)
	ctx := context.Background()
	collURL := keepertest.MemURL(t)
	m, err := gcpManager(ctx, client, collURL, "data-keyz", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const canary = "canary-value-2c5a9e"
	_, err = m.Create(ctx, coffer.NewSecret{Key: "API_KEY", Value: canary})
	if gcerrors.Code(err) != gcerrors.NotFound {
		t.Fatalf("Create with a keeper of an unknown key: %v; want gcerrors.NotFound", err)
	}
	const want = "CryptoKey " + gcpKeyRing + "data-keyz not found."
	if msg := err.Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "coffer: wrap data key") || strings.Contains(msg, canary) {
		t.Errorf("error %q; want it to say %q, that wrapping the data key failed, and not the value", msg, want)
	}
	coll, err := backend.OpenCollection(ctx, collURL)
	if err != nil {
		t.Fatal(err)
	}
	if docs := backendtest.Snapshot(t, coll); len(docs) != 0 {
		t.Errorf("the failed Create stored %d documents", len(docs))
	}
}

// TestGCPKMSDisabledKey: once the key version that wraps the keyring is
// disabled, a Manager that has not unwrapped the data keys yet fails with
// coffer.ErrDecrypt and Cloud KMS's FailedPrecondition, saying the version
// is disabled; a warm Manager keeps its data keys in memory and makes no
// keeper call. Enabled again, the key serves a cold Manager again.
func TestGCPKMSDisabledKey(t *testing.T) {
	stub, client := startGCPKMS(t)
	ctx := context.Background()
	collURL := keepertest.MemURL(t)
	warm, err := gcpManager(ctx, client, collURL, "data-keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	const canary = "canary-value-7e1f04"
	mustCreate(t, warm, "API_KEY", canary)

	version := gcpKeyRing + "data-keys/cryptoKeyVersions/1"
	if err := stub.SetEnabled(version, false); err != nil {
		t.Fatal(err)
	}
	cold, err := gcpManager(ctx, client, collURL, "data-keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	for _, call := range []struct {
		name string
		fn   func() error
	}{
		{"Reveal", func() error { _, err := cold.Reveal(ctx, "API_KEY"); return err }},
		{"Create", func() error { _, err := cold.Create(ctx, coffer.NewSecret{Key: "OTHER", Value: canary}); return err }},
	} {
		err := call.fn()
		if !errors.Is(err, coffer.ErrDecrypt) || gcerrors.Code(err) != gcerrors.FailedPrecondition {
			t.Errorf("%s with the key version disabled: %v; want ErrDecrypt and gcerrors.FailedPrecondition", call.name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, version+" is not enabled, current state is: DISABLED.") || strings.Contains(msg, canary) {
			t.Errorf("%s: error %q; want it to name the disabled version, and not the value", call.name, msg)
		}
	}
	if v, err := warm.Reveal(ctx, "API_KEY"); err != nil || v != canary {
		t.Errorf("Reveal by the warm Manager: %v; want the value (its data keys are in memory)", err)
	}

	if err := stub.SetEnabled(version, true); err != nil {
		t.Fatal(err)
	}
	if v, err := cold.Reveal(ctx, "API_KEY"); err != nil || v != canary {
		t.Errorf("Reveal after the version is enabled again: %v", err)
	}
}

// TestGCPKMSKeyRotation: Cloud KMS rotates a key by adding a primary
// version; data keys wrapped under the old version still unwrap, and the
// next rotation of coffer's data key wraps under the new one.
func TestGCPKMSKeyRotation(t *testing.T) {
	stub, client := startGCPKMS(t)
	ctx := context.Background()
	collURL := keepertest.MemURL(t)
	m, err := gcpManager(ctx, client, collURL, "data-keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mustCreate(t, m, "OLD", "under version 1")
	if _, err := stub.Rotate(gcpKeyRing + "data-keys"); err != nil {
		t.Fatal(err)
	}
	if err := m.RotateDataKey(ctx); err != nil {
		t.Fatal(err)
	}
	mustCreate(t, m, "NEW", "under version 2")
	cold, err := gcpManager(ctx, client, collURL, "data-keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cold.Close()
	for k, want := range map[string]coffer.Value{"OLD": "under version 1", "NEW": "under version 2"} {
		if v, err := cold.Reveal(ctx, k); err != nil || v != want {
			t.Errorf("cold Reveal(%s): %q, %v", k, string(v), err)
		}
	}
	// With version 1 disabled the keyring no longer unwraps whole: its
	// first data key was wrapped under version 1.
	if err := stub.SetEnabled(gcpKeyRing+"data-keys/cryptoKeyVersions/1", false); err != nil {
		t.Fatal(err)
	}
	colder, err := gcpManager(ctx, client, collURL, "data-keys", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer colder.Close()
	if _, err := colder.Reveal(ctx, "NEW"); gcerrors.Code(err) != gcerrors.FailedPrecondition {
		t.Errorf("Reveal with version 1 disabled: %v; want FailedPrecondition", err)
	}
}
