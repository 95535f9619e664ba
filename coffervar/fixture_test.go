package coffervar

import (
	"sync"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/secrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/internal/faults"
)

// fixture is a Manager whose store and keeper calls are counted, over a
// collection of one engine, with a clock the test moves.
type fixture struct {
	m      *coffer.Manager
	store  *faults.Injector // counts store calls: RunActions, queries, iterator steps
	keeper *faults.Injector // counts keeper Encrypt and Decrypt calls
	raw    *docstore.Collection
	inner  *secrets.Keeper // the uncounted keeper
	clock  *clock
}

// newFixture returns a fixture on a fresh collection of e.
func newFixture(t testing.TB, e engine) *fixture {
	t.Helper()
	raw := e.open(t)
	drv, err := faults.DriverOf(raw)
	if err != nil {
		t.Fatal(err)
	}
	return newFixtureOn(t, raw, drv)
}

// newFixtureOn returns a fixture whose Manager uses drv, the driver of raw
// or a wrapper of it.
func newFixtureOn(t testing.TB, raw *docstore.Collection, drv driver.Collection) *fixture {
	t.Helper()
	f := &fixture{
		store:  &faults.Injector{},
		keeper: &faults.Injector{},
		raw:    raw,
		inner:  coffertest.RandomKeeper(t),
		clock:  newClock(),
	}
	// Closing the counted collection closes raw's driver; the engine's own
	// Close of raw comes later and its error is ignored.
	counted := faults.NewCollection(drv, f.store)
	keeper := faults.NewKeeper(f.inner, f.keeper)
	var err error
	f.m, err = coffer.New(counted, keeper, &coffer.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = f.m.Close()
		_ = keeper.Close()
		_ = counted.Close()
	})
	return f
}

// writer returns a second Manager on the fixture's collection and key, with
// the same clock and nothing counted: another process, writing.
func (f *fixture) writer(t testing.TB) *coffer.Manager {
	t.Helper()
	m, err := coffer.New(f.raw, f.inner, &coffer.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

// calls returns the store and keeper calls counted so far.
func (f *fixture) calls() (store, keeper int) { return f.store.Calls(), f.keeper.Calls() }

// clock is a clock that moves only when told, by whole milliseconds (the
// precision coffer keeps).
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock {
	return &clock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}
