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
// import the gocloud driver of any other scheme. No error holds either URL:
// keeper URLs can hold key material and store URLs passwords.
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
