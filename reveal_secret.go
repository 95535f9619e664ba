package coffer

import (
	"context"
	"fmt"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/internal/layout"
)

// metadataSealedFields are the fields of RevealSecret's read: the metadata
// and the sealed value.
var metadataSealedFields = append(append([]docstore.FieldPath{}, layout.MetadataFields...), "Sealed")

// RevealSecret returns a secret's metadata and its value from one store read
// and one AES-GCM open, so the value is the one of the returned Version: what
// a program reading values over a network API needs. It is audited as a
// reveal.
func (m *Manager) RevealSecret(ctx context.Context, key string) (sec Secret, v Value, err error) {
	defer func() { m.audit(ctx, "reveal", key, err) }()
	rec, err := m.get(ctx, key, metadataSealedFields...)
	if err != nil {
		return Secret{}, "", err
	}
	plain, err := m.shared.keyring.Open(ctx, m.place(key, rec.CreatedAt), rec.Sealed)
	if err != nil {
		return Secret{}, "", fmt.Errorf("secret %q in %s: %w", key, m.where(), keyringError(err))
	}
	return toSecret(rec), Value(plain), nil
}

// ProjectName returns the name of the Manager's project ("default" when
// Options.Project was empty).
func (m *Manager) ProjectName() string { return m.opts.Project }

// EnvironmentName returns the name of the Manager's environment ("default"
// when Options.Environment was empty).
func (m *Manager) EnvironmentName() string { return m.opts.Environment }
