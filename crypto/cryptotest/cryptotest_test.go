package cryptotest_test

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	gcaws "gocloud.dev/aws"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/awskms"
	"gocloud.dev/secrets/gcpkms"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/gcpkmsstub"
	"github.com/coffer-go/coffer/internal/keepertest"
	"github.com/coffer-go/coffer/internal/testengine"
)

func TestLocalSecrets(t *testing.T) {
	cryptotest.RunConformanceTests(t, func(context.Context, *testing.T) (cryptotest.Harness, error) {
		var ks [2]*secrets.Keeper
		for i := range ks {
			key, err := localsecrets.NewRandomKey()
			if err != nil {
				return nil, err
			}
			ks[i] = localsecrets.NewKeeper(key)
		}
		return keepertest.Pair{K1: ks[0], K2: ks[1]}, nil
	})
}

// kmsRegion and kmsAlias are those of testdata/kms-seed.yaml and of
// scripts/engines.sh.
const (
	kmsRegion = "eu-west-2"
	kmsAlias  = "alias/coffer-test"
)

// TestAWSKMS runs the suite on local-kms: k1 is the seeded key, k2 a key the
// test creates, bound to an encryption context. KMS Decrypt finds the key in
// the ciphertext and unwraps for any key the credentials may use, so a second
// key alone would not make a keeper that cannot unwrap k1's keys; the
// encryption context, which KMS checks on Decrypt, does.
func TestAWSKMS(t *testing.T) {
	endpoint := testengine.Env(t, "COFFER_KMS_ENDPOINT")
	for name, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"} {
		if os.Getenv(name) == "" {
			t.Setenv(name, v)
		}
	}
	ctx := context.Background()
	cfg, err := gcaws.V2ConfigFromURLParams(ctx, url.Values{"region": {kmsRegion}, "endpoint": {endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := awskms.Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	other, err := client.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatalf("create a second KMS key: %v", err)
	}
	cryptotest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (cryptotest.Harness, error) {
		// k1 goes through the URL, as coffer.Open would open it.
		k1, err := secrets.OpenKeeper(ctx, "awskms://"+kmsAlias+"?region="+kmsRegion+"&endpoint="+url.QueryEscape(endpoint))
		if err != nil {
			return nil, err
		}
		k2 := awskms.OpenKeeper(client, *other.KeyMetadata.KeyId, &awskms.KeeperOptions{EncryptionContext: map[string]string{"coffer": "other"}})
		return keepertest.Pair{K1: k1, K2: k2}, nil
	})
}

// TestGCPKMSStandIn runs the suite on gocloud's gcpkms keeper, with Google's
// Cloud KMS client, against the in-repo stand-in of the Cloud KMS API
// (internal/gcpkmsstub; no emulator of Cloud KMS exists): k1 and k2 are two
// keys of one key ring.
func TestGCPKMSStandIn(t *testing.T) {
	stub, err := gcpkmsstub.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer stub.Close()
	const ring = "projects/coffer-test/locations/global/keyRings/coffer/cryptoKeys/"
	for _, k := range []string{"one", "two"} {
		if err := stub.CreateKey(ring + k); err != nil {
			t.Fatal(err)
		}
	}
	client, err := stub.NewClient(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cryptotest.RunConformanceTests(t, func(context.Context, *testing.T) (cryptotest.Harness, error) {
		return keepertest.Pair{K1: gcpkms.OpenKeeper(client, ring+"one", nil), K2: gcpkms.OpenKeeper(client, ring+"two", nil)}, nil
	})
}
