package coffer_test

import (
	"testing"

	"github.com/coffer-go/coffer"
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
