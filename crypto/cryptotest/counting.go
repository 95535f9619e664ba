package cryptotest

import (
	"context"
	"sync/atomic"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
)

// CountingKeeper is a secrets driver that counts the Encrypt and Decrypt
// calls made through it and passes each to the keeper it wraps. Tests use it
// to prove what coffer promises about keeper traffic: one Decrypt per data
// key when a Manager warms up, none per operation afterwards.
//
// It is safe for concurrent use.
type CountingKeeper struct {
	inner    *secrets.Keeper
	portable *secrets.Keeper
	encrypts atomic.Int64
	decrypts atomic.Int64
}

var _ driver.Keeper = (*CountingKeeper)(nil)

// NewCountingKeeper returns a CountingKeeper passing calls to inner. Closing
// it (or its Keeper) does not close inner.
func NewCountingKeeper(inner *secrets.Keeper) *CountingKeeper {
	c := &CountingKeeper{inner: inner}
	c.portable = secrets.NewKeeper(c)
	return c
}

// Keeper returns the portable keeper to hand to coffer.New or crypto.NewKeyring.
// Every call returns the same one.
func (c *CountingKeeper) Keeper() *secrets.Keeper { return c.portable }

// Encrypts returns the number of Encrypt calls so far.
func (c *CountingKeeper) Encrypts() int { return int(c.encrypts.Load()) }

// Decrypts returns the number of Decrypt calls so far.
func (c *CountingKeeper) Decrypts() int { return int(c.decrypts.Load()) }

// Reset sets both counts to zero.
func (c *CountingKeeper) Reset() {
	c.encrypts.Store(0)
	c.decrypts.Store(0)
}

// Decrypt counts the call and passes it on.
func (c *CountingKeeper) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	c.decrypts.Add(1)
	return c.inner.Decrypt(ctx, ciphertext)
}

// Encrypt counts the call and passes it on.
func (c *CountingKeeper) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	c.encrypts.Add(1)
	return c.inner.Encrypt(ctx, plaintext)
}

// Close does nothing: the wrapped keeper belongs to the caller.
func (c *CountingKeeper) Close() error { return nil }

// ErrorAs passes to the wrapped keeper, so driver errors stay reachable.
func (c *CountingKeeper) ErrorAs(err error, i any) bool { return c.inner.ErrorAs(err, i) }

// ErrorCode keeps the code the wrapped keeper gave the error.
func (c *CountingKeeper) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
