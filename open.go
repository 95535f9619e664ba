package coffer

import (
	"context"
	"strings"

	"gocloud.dev/secrets"
	_ "gocloud.dev/secrets/localsecrets" // base64key:// and stringkey://, the embedded default

	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/internal/redact"
)

// Open opens the collection at collectionURL with coffer's layout (see
// backend.OpenCollection) and the keeper at keeperURL (any gocloud.dev/secrets
// URL: base64key://, awskms://, gcpkms://, azurekeyvault://, hashivault://),
// and returns a Manager over them. The Manager's Close closes both; mem://
// collections stay open for the process, shared by name.
//
// Only memdocstore and localsecrets are linked in by coffer itself; blank-
// import the gocloud driver of any other scheme (gocloud.dev/secrets/awskms,
// gcpkms, azurekeyvault; gocloud.dev/secrets/hashivault, a module of its own
// pinned at v0.46.0). Examples:
//
//	base64key://BASE64_OF_32_RANDOM_BYTES   (URL-safe base64; the key is in the URL)
//	awskms://alias/coffer?region=eu-west-2
//	awskms://alias/coffer?region=eu-west-2&endpoint=http://127.0.0.1:4599   (a KMS-compatible endpoint)
//	gcpkms://projects/P/locations/global/keyRings/R/cryptoKeys/K
//	azurekeyvault://VAULT.vault.azure.net/keys/KEY
//	hashivault://KEY   (server from VAULT_ADDR and VAULT_TOKEN)
//
// Opening makes no keeper call: the keyring is read on first use. Beware
// Vault transit: it creates a missing key on first use, so a misspelt key
// name silently wraps the keyring under a new key (see the package doc). No
// error holds either URL: keeper URLs can hold key material and store URLs
// passwords.
func Open(ctx context.Context, collectionURL, keeperURL string, opts *Options) (*Manager, error) {
	coll, err := backend.OpenCollection(ctx, collectionURL)
	if err != nil {
		return nil, err
	}
	closeColl := coll.Close
	if strings.HasPrefix(collectionURL, "mem://") {
		closeColl = func() error { return nil }
	}
	keeper, err := secrets.OpenKeeper(ctx, keeperURL)
	if err != nil {
		_ = closeColl()
		return nil, redact.Error("coffer: open keeper", keeperURL, err)
	}
	m, err := New(coll, keeper, opts)
	if err != nil {
		_ = keeper.Close()
		_ = closeColl()
		return nil, err
	}
	m.shared.closers = []func() error{keeper.Close, closeColl}
	return m, nil
}
