package coffer

import "context"

// RotateDataKey adds a new data key to the keyring of the Manager's
// collection and makes it the one that seals new values. Values sealed under
// older keys still open; Reseal moves them to the new key. Other Managers on
// the collection pick the new key up the first time they meet it.
func (m *Manager) RotateDataKey(ctx context.Context) (err error) {
	defer func() { m.audit(ctx, "rotate_data_key", "", err) }()
	if err := m.check(ctx); err != nil {
		return err
	}
	_, err = m.shared.keyring.Rotate(ctx)
	return keyringError(err)
}
