package coffer

import (
	"context"
	"fmt"

	"gocloud.dev/secrets"
)

// RotateDataKey adds a new data key to the keyring of the Manager's
// collection and makes it the one that seals new values. Values sealed under
// older keys still open; Reseal moves them to the new key. Other Managers on
// the collection open values under the new key the first time they meet it,
// and seal under it within crypto.RefreshInterval.
func (m *Manager) RotateDataKey(ctx context.Context) (err error) {
	defer func() { m.audit(ctx, "rotate_data_key", "", err) }()
	if err := m.check(ctx); err != nil {
		return err
	}
	_, err = m.shared.keyring.Rotate(ctx)
	return keyringError(err)
}

// ChangeKeeper moves the keyring to newKeeper — a KMS migration, or a new
// key in the same KMS: every data key is unwrapped by the current keeper and
// wrapped again by newKeeper, and the keyring document is replaced under its
// revision. No secret record is read or written; values stay sealed under the
// same data keys. Afterwards this Manager, and every Manager derived from the
// same New or Open, wraps future data keys (RotateDataKey) with newKeeper,
// and a Manager given only newKeeper reads every secret.
//
// newKeeper stays the caller's: keep it open while the Manager is in use;
// Close does not close it (a keeper Open opened is still closed by Close).
// Processes still holding the old keeper keep opening values under the keys
// they have unwrapped, but cannot unwrap keys added later, and their
// RotateDataKey refuses to run: restart them with the new keeper. Retiring
// the old key is up to its KMS: with AWS KMS, a keeper of another key can
// still unwrap the old wrapping while the old key is enabled and the
// credentials allow it, so disable or schedule deletion of the old key once
// every process has moved.
func (m *Manager) ChangeKeeper(ctx context.Context, newKeeper *secrets.Keeper) (err error) {
	defer func() { m.audit(ctx, "change_keeper", "", err) }()
	if err := m.check(ctx); err != nil {
		return err
	}
	if newKeeper == nil {
		return fmt.Errorf("%w: ChangeKeeper needs a keeper", ErrInvalidOptions)
	}
	return keyringError(m.shared.keyring.ChangeKeeper(ctx, newKeeper))
}
