package coffer_test

import (
	"context"
	"fmt"
	"log"

	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
)

// Rotating the data key: new values are sealed under the new key at once;
// Reseal moves every existing value of the collection to it, reporting
// progress. Run it again after an interruption: it carries on.
func ExampleManager_Reseal() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-reseal", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	for _, k := range []string{"DATABASE_URL", "SESSION_SECRET", "STRIPE_API_KEY"} {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: k, Value: "value of " + coffer.Value(k)}); err != nil {
			log.Fatal(err)
		}
	}
	if err := m.RotateDataKey(ctx); err != nil {
		log.Fatal(err)
	}
	stats, err := m.Reseal(ctx, &coffer.ResealOptions{
		BatchSize: 2,
		Progress:  func(done, total int) { fmt.Printf("%d/%d\n", done, total) },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("under data key %d: %d re-sealed, %d already there\n", stats.KeyID, stats.Resealed, stats.Skipped)
	// Output:
	// 0/3
	// 2/3
	// 3/3
	// under data key 2: 3 re-sealed, 0 already there
}

// Moving the keyring to another keeper (here a new local key; in production,
// a KMS key) re-wraps the data keys without touching any secret.
func ExampleManager_ChangeKeeper() {
	ctx := context.Background()
	m, err := coffer.Open(ctx, "mem://example-move", "base64key://smGbjm71Nxd1Ig5FS0wj9SlbzAIrnolCz9bQQ6uAhl4=", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "API_TOKEN", Value: "t0k3n"}); err != nil {
		log.Fatal(err)
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		log.Fatal(err)
	}
	newKeeper := localsecrets.NewKeeper(key)
	defer newKeeper.Close()
	if err := m.ChangeKeeper(ctx, newKeeper); err != nil {
		log.Fatal(err)
	}
	// From now on, programs open the store with the new keeper.
	coll, err := backend.OpenCollection(ctx, "mem://example-move")
	if err != nil {
		log.Fatal(err)
	}
	moved, err := coffer.New(coll, newKeeper, nil)
	if err != nil {
		log.Fatal(err)
	}
	v, err := moved.Reveal(ctx, "API_TOKEN")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v))
	// Output: t0k3n
}
