// Command rotation shows a long-running service keeping its database
// connection string current while an administrator rotates the password:
// the service follows DATABASE_URL through a coffer:// runtimevar, and each
// rotation reaches its connection pool at the service's next poll, without a
// restart.
//
// The service and the administrator are two Managers on one SQLite store,
// as two processes would be. The service opens its variable with a
// coffervar.URLOpener; a program that sets COFFER_STORE_URL and
// COFFER_KEEPER_URL and blank-imports coffervar opens the same URL with
// runtimevar.OpenVariable alone.
//
//	go run ./examples/rotation [-wait 100ms] [-rotations 3]
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gocloud.dev/runtimevar"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite:// stores
	"github.com/coffer-go/coffer/coffervar"
)

func main() {
	wait := flag.Duration("wait", 100*time.Millisecond, "how often the service polls DATABASE_URL")
	rotations := flag.Int("rotations", 3, "how many times the administrator rotates the password")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *wait, *rotations); err != nil {
		log.Fatal(err)
	}
}

// config is where the demo's store and keeper are: a SQLite file in a
// temporary directory and a random local key. A real deployment keeps its
// keeper (a KMS key) apart from the store.
type config struct{ storeURL, keeperURL string }

func newConfig(dir string) (config, error) {
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		return config{}, err
	}
	return config{
		storeURL:  "sqlite://" + filepath.ToSlash(filepath.Join(dir, "coffer.db")),
		keeperURL: "base64key://" + base64.URLEncoding.EncodeToString(key[:]),
	}, nil
}

func (c config) open(ctx context.Context) (*coffer.Manager, error) {
	return coffer.Open(ctx, c.storeURL, c.keeperURL, &coffer.Options{Project: "shop", Environment: "production"})
}

// dsn is the connection string with password.
func dsn(password string) coffer.Value {
	return coffer.Value("postgres://shop:" + password + "@db.internal:5432/shop")
}

// masked shows a connection string with its password hidden.
func masked(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(not a URL)"
	}
	return u.Redacted()
}

// pool stands for the service's database connection pool: it only records
// which connection string it uses.
type pool struct {
	dsn     string
	version int
}

// connected is what the service tells the administrator after each
// (re)connection.
type connected struct {
	version int
	at      time.Time
}

// syncWriter lets the service and the administrator print to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func run(ctx context.Context, w io.Writer, wait time.Duration, rotations int) error {
	out := &syncWriter{w: w}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir, err := os.MkdirTemp("", "coffer-rotation-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := newConfig(dir)
	if err != nil {
		return err
	}

	admin, err := cfg.open(ctx)
	if err != nil {
		return err
	}
	defer admin.Close()
	actx := coffer.WithActor(ctx, "admin")
	if _, err := admin.Create(actx, coffer.NewSecret{Key: "DATABASE_URL", Value: dsn(rand.Text()), Description: "Primary database"}); err != nil {
		return err
	}

	// The service: its own Manager, and a variable that follows DATABASE_URL.
	service, err := cfg.open(ctx)
	if err != nil {
		return err
	}
	defer service.Close()
	mux := new(runtimevar.URLMux)
	mux.RegisterVariable(coffervar.Scheme, &coffervar.URLOpener{Manager: service})
	v, err := mux.OpenVariable(ctx, fmt.Sprintf("coffer://DATABASE_URL?decoder=string&wait=%v", wait))
	if err != nil {
		return err
	}
	defer v.Close()
	events := make(chan connected)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, out, v, events) }()

	first, err := next(ctx, events, done)
	if err != nil {
		return err
	}
	for i := 0; i < rotations; i++ {
		// Let the service run a few polls on the current value.
		time.Sleep(3 * wait)
		sec, err := admin.Update(actx, "DATABASE_URL", coffer.Change{Value: dsn(rand.Text())})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "admin:   rotated DATABASE_URL to version %d\n", sec.Version)
		c, err := next(ctx, events, done)
		if err != nil {
			return err
		}
		if c.version != sec.Version {
			return fmt.Errorf("the service reconnected with version %d; want %d", c.version, sec.Version)
		}
		fmt.Fprintf(out, "admin:   version %d reached the service %v after the rotation (polling every %v)\n",
			c.version, c.at.Sub(sec.RotatedAt).Round(time.Millisecond), wait)
	}
	fmt.Fprintf(out, "every rotation reached the service, from version %d to %d, without a restart\n", first.version, first.version+rotations)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// serve is the service's loop: each new value of the variable makes the
// pool reconnect with it.
func serve(ctx context.Context, out io.Writer, v *runtimevar.Variable, events chan<- connected) error {
	var p pool
	for {
		snap, err := v.Watch(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// The pool keeps its connection string; Watch reports the
			// next change, good or bad.
			fmt.Fprintf(out, "service: DATABASE_URL unavailable, keeping the current connection: %v\n", err)
			continue
		}
		var sec coffer.Secret
		snap.As(&sec)
		verb := "connected"
		if p.dsn != "" {
			verb = "reconnected"
		}
		p.dsn, p.version = snap.Value.(string), sec.Version
		fmt.Fprintf(out, "service: %s to %s (version %d)\n", verb, masked(p.dsn), p.version)
		select {
		case events <- connected{version: p.version, at: time.Now()}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// next waits for the service's next connection, or its failure.
func next(ctx context.Context, events <-chan connected, done <-chan error) (connected, error) {
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	select {
	case c := <-events:
		return c, nil
	case err := <-done:
		return connected{}, fmt.Errorf("the service stopped: %w", err)
	case <-timeout.C:
		return connected{}, errors.New("the service did not connect within a minute")
	case <-ctx.Done():
		return connected{}, ctx.Err()
	}
}
