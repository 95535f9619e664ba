package coffer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
)

// TestRevealSecret checks that RevealSecret returns what Get and Reveal
// return, from one read, audited as a reveal, and fails as they do.
func TestRevealSecret(t *testing.T) {
	env := coffertest.New(t, nil, nil)
	m := env.Manager
	ctx := coffer.WithActor(context.Background(), "reader")
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "API_KEY", Value: "v1", Description: "d"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Update(ctx, "API_KEY", coffer.Change{Value: "v2"}); err != nil {
		t.Fatal(err)
	}
	s, v, err := m.RevealSecret(ctx, "API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.Get(ctx, "API_KEY")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, s); diff != "" || v != "v2" || s.Version != 2 {
		t.Errorf("RevealSecret = version %d, a value of %d bytes; metadata (-Get +RevealSecret):\n%s", s.Version, len(v), diff)
	}
	if !strings.Contains(env.Audit.String(), `"msg":"coffer.reveal","op":"reveal","project":"default","environment":"default","key":"API_KEY","actor":"reader","outcome":"ok"`) {
		t.Errorf("no reveal audit event:\n%s", env.Audit)
	}
	if _, _, err := m.RevealSecret(ctx, "api_key"); !errors.Is(err, coffer.ErrNotFound) || !strings.Contains(err.Error(), "did you mean API_KEY?") {
		t.Errorf("a missing key: %v", err)
	}
	if _, _, err := m.RevealSecret(ctx, "bad key"); !errors.Is(err, coffer.ErrInvalidKey) {
		t.Errorf("an invalid key: %v", err)
	}
	if m.ProjectName() != "default" || m.EnvironmentName() != "default" {
		t.Errorf("names = %q, %q", m.ProjectName(), m.EnvironmentName())
	}
	prod, err := m.Environment("production")
	if err != nil {
		t.Fatal(err)
	}
	if prod.EnvironmentName() != "production" {
		t.Errorf("EnvironmentName = %q", prod.EnvironmentName())
	}
}
