package coffer_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/coffer-go/coffer"
)

// A rotated password broke production: look at the secret's versions and
// roll back to the one that worked. The rollback is a new version; the
// value it replaced is kept too.
func ExampleManager_Rollback() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-rollback", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(coffer.WithActor(ctx, "alice"), coffer.NewSecret{Key: "DB_PASSWORD", Value: "correct-horse"}); err != nil {
		log.Fatal(err)
	}
	if _, err := m.Update(coffer.WithActor(ctx, "bob"), "DB_PASSWORD", coffer.Change{Value: "battery-staple"}); err != nil {
		log.Fatal(err)
	}

	versions, err := m.Versions(ctx, "DB_PASSWORD")
	if err != nil {
		log.Fatal(err)
	}
	for _, v := range versions {
		fmt.Println(v.Version, v.CreatedBy, v.Current)
	}

	s, err := m.Rollback(coffer.WithActor(ctx, "carol"), "DB_PASSWORD", 1)
	if err != nil {
		log.Fatal(err)
	}
	v, err := m.Reveal(ctx, "DB_PASSWORD")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Version, string(v))

	old, err := m.RevealVersion(ctx, "DB_PASSWORD", 2)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(old))
	// Output:
	// 2 bob true
	// 1 alice false
	// 3 correct-horse
	// battery-staple
}

// The edit dialog sends the version it showed: a change made meanwhile by
// someone else is not silently overwritten.
func ExampleChange_ifVersion() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-if-version", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	shown, err := m.Create(ctx, coffer.NewSecret{Key: "API_TOKEN", Value: "t1"})
	if err != nil {
		log.Fatal(err)
	}
	// Someone else saves a new value first.
	if _, err := m.Update(ctx, "API_TOKEN", coffer.Change{Value: "t2"}); err != nil {
		log.Fatal(err)
	}

	_, err = m.Update(ctx, "API_TOKEN", coffer.Change{Value: "t3", IfVersion: shown.Version})
	fmt.Println(errors.Is(err, coffer.ErrConflict))
	// Output:
	// true
}
