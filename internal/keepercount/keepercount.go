// Package keepercount wraps a gocloud.dev/secrets keeper to count its calls,
// so tests and benchmarks can check that coffer makes no keeper call on its
// hot path once the keyring is loaded.
package keepercount

import (
	"context"
	"sync/atomic"

	"gocloud.dev/gcerrors"
	"gocloud.dev/secrets"
	"gocloud.dev/secrets/driver"
)

// Counter counts the Encrypt and Decrypt calls made through its Keeper.
type Counter struct {
	// Keeper forwards every call to the wrapped keeper.
	Keeper   *secrets.Keeper
	inner    *secrets.Keeper
	encrypts atomic.Int64
	decrypts atomic.Int64
}

// Wrap returns a Counter whose Keeper forwards to k. Closing the Counter's
// Keeper closes k.
func Wrap(k *secrets.Keeper) *Counter {
	c := &Counter{inner: k}
	c.Keeper = secrets.NewKeeper(counting{c})
	return c
}

// Calls returns the number of Encrypt and Decrypt calls so far.
func (c *Counter) Calls() int64 { return c.encrypts.Load() + c.decrypts.Load() }

// Encrypts returns the number of Encrypt calls so far.
func (c *Counter) Encrypts() int64 { return c.encrypts.Load() }

// Decrypts returns the number of Decrypt calls so far.
func (c *Counter) Decrypts() int64 { return c.decrypts.Load() }

// counting is the driver behind Counter.Keeper.
type counting struct{ c *Counter }

var _ driver.Keeper = counting{}

func (k counting) Encrypt(ctx context.Context, plaintext []byte) ([]byte, error) {
	k.c.encrypts.Add(1)
	return k.c.inner.Encrypt(ctx, plaintext)
}

func (k counting) Decrypt(ctx context.Context, ciphertext []byte) ([]byte, error) {
	k.c.decrypts.Add(1)
	return k.c.inner.Decrypt(ctx, ciphertext)
}

func (k counting) Close() error { return k.c.inner.Close() }

func (k counting) ErrorAs(err error, i any) bool { return k.c.inner.ErrorAs(err, i) }

// ErrorCode keeps the wrapped keeper's code: its errors are already portable.
func (k counting) ErrorCode(err error) gcerrors.ErrorCode { return gcerrors.Code(err) }
