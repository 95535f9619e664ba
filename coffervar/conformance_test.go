package coffervar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"gocloud.dev/gcerrors"
	"gocloud.dev/runtimevar"
	"gocloud.dev/runtimevar/driver"
	"gocloud.dev/runtimevar/drivertest"

	"github.com/coffer-go/coffer"
)

// TestConformance runs gocloud's runtimevar conformance suite on every
// engine. The suite names its variables in kebab case
// ("test-config-variable"), which coffer's key rules refuse; the harness
// maps '-' to '_', the one change that makes them keys.
func TestConformance(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		drivertest.RunConformanceTests(t, func(t *testing.T) (drivertest.Harness, error) {
			return &harness{f: newFixture(t, e)}, nil
		}, []drivertest.AsTest{asTest{}})
	})
}

type harness struct{ f *fixture }

func keyOf(name string) string { return strings.ReplaceAll(name, "-", "_") }

func (h *harness) MakeWatcher(_ context.Context, name string, decoder *runtimevar.Decoder) (driver.Watcher, error) {
	return newWatcher(h.f.m, keyOf(name), decoder, nil)
}

func (h *harness) CreateVariable(ctx context.Context, name string, val []byte) error {
	_, err := h.f.m.Create(ctx, coffer.NewSecret{Key: keyOf(name), Value: coffer.Value(val)})
	return err
}

func (h *harness) UpdateVariable(ctx context.Context, name string, val []byte) error {
	_, err := h.f.m.Update(ctx, keyOf(name), coffer.Change{Value: coffer.Value(val)})
	return err
}

func (h *harness) DeleteVariable(ctx context.Context, name string) error {
	return h.f.m.Delete(ctx, keyOf(name))
}

func (h *harness) Close() {}

func (h *harness) Mutable() bool { return true }

// asTest checks what coffervar exposes through As: the secret's metadata
// on a snapshot, coffer's error on an error.
type asTest struct{}

func (asTest) Name() string { return "coffer.Secret and coffer's error" }

func (asTest) SnapshotCheck(s *runtimevar.Snapshot) error {
	var sec coffer.Secret
	if !s.As(&sec) {
		return errors.New("Snapshot.As(*coffer.Secret) = false")
	}
	if sec.Key != "variable_for_as" || sec.Version != 1 || !s.UpdateTime.Equal(sec.RotatedAt) {
		return fmt.Errorf("Snapshot.As gave %+v; want variable_for_as, version 1, RotatedAt = UpdateTime %v", sec, s.UpdateTime)
	}
	var notMetadata string
	if s.As(&notMetadata) {
		return errors.New("Snapshot.As(*string) = true")
	}
	return nil
}

func (asTest) ErrorCheck(v *runtimevar.Variable, err error) error {
	if gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("error of a missing variable has code %v; want NotFound", gcerrors.Code(err))
	}
	var cerr error
	if !v.ErrorAs(err, &cerr) || !errors.Is(cerr, coffer.ErrNotFound) {
		return fmt.Errorf("ErrorAs(*error) gave %v; want coffer's ErrNotFound", cerr)
	}
	return nil
}
