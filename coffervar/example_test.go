package coffervar_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"net/url"
	"time"

	"gocloud.dev/runtimevar"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffervar"
)

// openManager opens a Manager on an in-memory store, for the examples. A
// program opens its real store and keeper (coffer.Open).
func openManager(ctx context.Context, name string) *coffer.Manager {
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		log.Fatal(err)
	}
	m, err := coffer.Open(ctx, "mem://"+name, "base64key://"+base64.URLEncoding.EncodeToString(key[:]), nil)
	if err != nil {
		log.Fatal(err)
	}
	return m
}

// redacted shows a connection string with its password masked.
func redacted(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(not a URL)"
	}
	return u.Redacted()
}

// A program follows DATABASE_URL: the first Watch returns the current value,
// the next one returns when a rotation has reached the program.
func ExampleOpenVariable() {
	ctx := context.Background()
	m := openManager(ctx, "example-open-variable")
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "postgres://shop:first-password@db:5432/shop"}); err != nil {
		log.Fatal(err)
	}

	v, err := coffervar.OpenVariable(m, "DATABASE_URL", runtimevar.StringDecoder, &coffervar.Options{WaitDuration: 10 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	snap, err := v.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("connect to", redacted(snap.Value.(string)))

	// Elsewhere, the password is rotated.
	if _, err := m.Update(ctx, "DATABASE_URL", coffer.Change{Value: "postgres://shop:second-password@db:5432/shop"}); err != nil {
		log.Fatal(err)
	}

	snap, err = v.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	var sec coffer.Secret
	snap.As(&sec)
	fmt.Println("reconnect to", redacted(snap.Value.(string)), "with version", sec.Version)
	// Output:
	// connect to postgres://shop:xxxxx@db:5432/shop
	// reconnect to postgres://shop:xxxxx@db:5432/shop with version 2
}

// A URLOpener serves coffer:// URLs with a Manager of the program's own;
// the URL may name another project or environment of it.
func ExampleURLOpener() {
	ctx := context.Background()
	m := openManager(ctx, "example-url-opener")
	defer m.Close()
	prod, err := m.Environment("production")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := prod.Create(ctx, coffer.NewSecret{Key: "FEATURE_FLAGS", Value: `{"checkout_v2": true}`}); err != nil {
		log.Fatal(err)
	}

	mux := new(runtimevar.URLMux)
	mux.RegisterVariable(coffervar.Scheme, &coffervar.URLOpener{Manager: m})
	v, err := mux.OpenVariable(ctx, "coffer://FEATURE_FLAGS?decoder=jsonmap&environment=production&wait=1m")
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	snap, err := v.Watch(ctx)
	if err != nil {
		log.Fatal(err)
	}
	flags := *snap.Value.(*map[string]any)
	fmt.Println("checkout_v2:", flags["checkout_v2"])

	_, err = mux.OpenVariable(ctx, "coffer://FEATURE_FLAGS?env=production")
	fmt.Println(err)
	// Output:
	// checkout_v2: true
	// coffervar: invalid coffer:// URL: unknown query parameter "env"; want decoder, environment, project or wait
}
