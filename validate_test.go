package coffer_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
)

func TestInferType(t *testing.T) {
	tests := map[string]coffer.Type{
		"STRIPE_API_KEY":        coffer.TypeAPIKey,
		"API_KEY":               coffer.TypeAPIKey,
		"openai_api_key":        coffer.TypeAPIKey,
		"DATABASE_URL":          coffer.TypeConnectionString,
		"REDIS_URL":             coffer.TypeConnectionString,
		"SENTRY_DSN":            coffer.TypeConnectionString,
		"DATABASE_HOST":         coffer.TypeConnectionString,
		"GITHUB_TOKEN":          coffer.TypeToken,
		"SMTP_PASSWORD":         coffer.TypePassword,
		"DATABASE_PASSWORD":     coffer.TypePassword,
		"AWS_ACCESS_KEY_ID":     coffer.TypeCredential,
		"AWS_SECRET_ACCESS_KEY": coffer.TypeCredential,
		"DATA_ENCRYPTION_KEY":   coffer.TypeEncryptionKey,
		"JWT_SIGNING_KEY":       coffer.TypeEncryptionKey,
		"FEATURE_FLAG":          coffer.TypeGeneric,
		"CURL":                  coffer.TypeGeneric, // not "_URL"
		"APITOKEN":              coffer.TypeGeneric, // not "_TOKEN"
	}
	for key, want := range tests {
		if got := coffer.InferType(key); got != want {
			t.Errorf("InferType(%q) = %q, want %q", key, got, want)
		}
	}
}

// Validate reports what Create would, all at once, and writes nothing.
func TestValidate(t *testing.T) {
	ctx := context.Background()
	m := coffertest.NewManager(t, &coffer.Options{MaxValueBytes: 8, RequireUppercase: true})
	tests := []struct {
		s    coffer.NewSecret
		want []error
	}{
		{coffer.NewSecret{Key: "API_KEY", Value: "v"}, nil},
		{coffer.NewSecret{}, []error{coffer.ErrKeyRequired, coffer.ErrValueRequired}},
		{coffer.NewSecret{Key: "api_key", Value: "123456789", Type: "Bad"}, []error{coffer.ErrInvalidKey, coffer.ErrValueTooLarge, coffer.ErrInvalidType}},
		{coffer.NewSecret{Key: "K", Value: "a\x00b", Description: strings.Repeat("d", coffer.MaxDescriptionChars+1)}, []error{coffer.ErrInvalidValue, coffer.ErrDescriptionTooLong}},
	}
	for _, tt := range tests {
		err := m.Validate(tt.s)
		if (err == nil) != (tt.want == nil) {
			t.Errorf("Validate(%q) = %v, want problems %v", tt.s.Key, err, tt.want)
		}
		for _, w := range tt.want {
			if !errors.Is(err, w) {
				t.Errorf("Validate(%q) = %v, want it to match %v", tt.s.Key, err, w)
			}
		}
		// Create reports exactly the same problems.
		_, cerr := m.Create(ctx, tt.s)
		if tt.want != nil && (cerr == nil || cerr.Error() != err.Error()) {
			t.Errorf("Create(%q) = %v, Validate said %v", tt.s.Key, cerr, err)
		}
	}
	list, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Key != "API_KEY" {
		t.Errorf("after the calls the store holds %v, want only API_KEY (which Create added)", list)
	}
}
