package coffer_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/coffer-go/coffer"
)

// Check turns the Secrets page's best practices into a report. Here the
// production secrets were set 134 days ago, one password is weak and has no
// description, and staging reuses production's API key.
func ExampleManager_Check() {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	clock := now.AddDate(0, 0, -134)
	prod, err := coffer.Open(ctx, "mem://example-check", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=",
		&coffer.Options{Environment: "production", Now: func() time.Time { return clock }})
	if err != nil {
		log.Fatal(err)
	}
	defer prod.Close()
	staging, err := prod.Environment("staging")
	if err != nil {
		log.Fatal(err)
	}

	apiKey, err := coffer.Generate(32)
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range []struct {
		m      *coffer.Manager
		secret coffer.NewSecret
	}{
		{prod, coffer.NewSecret{Key: "STRIPE_API_KEY", Value: apiKey, Description: "Payments"}},
		{prod, coffer.NewSecret{Key: "DB_PASSWORD", Value: "hunter2"}},
		{staging, coffer.NewSecret{Key: "STRIPE_API_KEY", Value: apiKey, Description: "Payments"}},
	} {
		if _, err := s.m.Create(ctx, s.secret); err != nil {
			log.Fatal(err)
		}
	}
	clock = now

	findings, err := prod.Check(ctx, &coffer.CheckOptions{Environments: []string{"production", "staging"}})
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range findings {
		fmt.Printf("%s %s %s: %s\n", f.Environment, f.Key, f.Kind, f.Message)
	}
	// Output:
	// production DB_PASSWORD no_description: no description: say what it is for and who uses it
	// production DB_PASSWORD not_rotated: set 134 days ago and never rotated; the limit is 90 days: set a new value
	// production DB_PASSWORD weak_value: shorter than 16 bytes: replace it with a generated value (32 random bytes)
	// production STRIPE_API_KEY not_rotated: set 134 days ago and never rotated; the limit is 90 days: set a new value
	// production STRIPE_API_KEY shared_value: same value as in staging: give each environment its own value
	// staging DB_PASSWORD missing_in_environment: not set here but set in production: add it here, or delete it there if it is no longer used
	// staging STRIPE_API_KEY not_rotated: set 134 days ago and never rotated; the limit is 90 days: set a new value
	// staging STRIPE_API_KEY shared_value: same value as in production: give each environment its own value
}

// Generate makes a strong value, safe unquoted in a .env file or a shell.
func ExampleGenerate() {
	v, err := coffer.Generate(32) // 32 random bytes
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(v), "characters of URL-safe base64")
	fmt.Println(v) // a Value prints redacted; use string(v) where it is needed

	_, err = coffer.Generate(8)
	fmt.Println(err)
	// Output:
	// 43 characters of URL-safe base64
	// [REDACTED]
	// invalid options: Generate takes 16 to 1024 bytes, not 8
}
