package coffer_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/coffer-go/coffer"
)

// A fresh in-memory store and a local key: the embedded default. In
// production, point Open at your document store and KMS.
func Example() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", &coffer.Options{Environment: "production"})
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	s, err := m.Create(ctx, coffer.NewSecret{Key: "STRIPE_API_KEY", Value: "sk_live_51H", Description: "Payments"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Key, s.Type, s.Version)

	v, err := m.Reveal(ctx, "STRIPE_API_KEY")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)         // printing a Value never shows it
	fmt.Println(string(v)) // convert it where the value is needed
	// Output:
	// STRIPE_API_KEY api_key 1
	// [REDACTED]
	// sk_live_51H
}

// Every problem of one call comes back at once, each matching its sentinel.
func ExampleManager_Create_validation() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-validation", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	_, err = m.Create(ctx, coffer.NewSecret{})
	fmt.Println(err)
	fmt.Println(errors.Is(err, coffer.ErrKeyRequired), errors.Is(err, coffer.ErrValueRequired))

	_, err = m.Create(ctx, coffer.NewSecret{Key: "API-KEY", Value: "x"})
	fmt.Println(err)
	// Output:
	// secret key is required; secret value is required
	// true true
	// invalid secret key: character '-' at position 4 is not allowed; use letters, digits and underscores
}

// Edit with an empty value keeps the value; saving nothing new is an error.
func ExampleManager_Update() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-update", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "postgres://app@db/app"}); err != nil {
		log.Fatal(err)
	}

	desc := "Primary database"
	s, err := m.Update(ctx, "DATABASE_URL", coffer.Change{Description: &desc})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Description, s.Version)

	_, err = m.Update(ctx, "DATABASE_URL", coffer.Change{Description: &desc})
	fmt.Println(err)

	s, err = m.Update(ctx, "DATABASE_URL", coffer.Change{Value: "postgres://app@db2/app"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Version)
	// Output:
	// Primary database 1
	// no changes to save
	// 2
}

// Environments of one project are separate; a near-miss key gets a hint.
func ExampleManager_Environment() {
	ctx := context.Background()
	dev, err := coffer.Open(ctx, "mem://example-env", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", &coffer.Options{Project: "shop", Environment: "development"})
	if err != nil {
		log.Fatal(err)
	}
	defer dev.Close()
	prod, err := dev.Environment("production")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := prod.Create(ctx, coffer.NewSecret{Key: "SESSION_TOKEN", Value: "prod-only"}); err != nil {
		log.Fatal(err)
	}
	_, err = dev.Reveal(ctx, "SESSION_TOKEN")
	fmt.Println(errors.Is(err, coffer.ErrNotFound))
	_, err = prod.Reveal(ctx, "session_token")
	fmt.Println(err)
	// Output:
	// true
	// secret not found: "session_token" in project "shop", environment "production"; did you mean SESSION_TOKEN?
}

// Require reports every missing key at once: call it at start-up.
func ExampleManager_Require() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-require", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "SMTP_PASSWORD", Value: "hunter2"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Require(ctx, "SMTP_PASSWORD", "JWT_SIGNING_KEY", "SENTRY_DSN"))
	// Output:
	// secret not found: "JWT_SIGNING_KEY" in project "default", environment "default"; secret not found: "SENTRY_DSN" in project "default", environment "default"
}

// Keys lists the names only, sorted: the cheapest listing, for completion
// and names-only pages.
func ExampleManager_Keys() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-keys", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	for _, k := range []string{"STRIPE_API_KEY", "DATABASE_URL", "SMTP_PASSWORD"} {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: k, Value: "v"}); err != nil {
			log.Fatal(err)
		}
	}
	keys, err := m.Keys(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(keys)
	// Output:
	// [DATABASE_URL SMTP_PASSWORD STRIPE_API_KEY]
}
