package benchmarks

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"sync"
	"testing"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/internal/benchpair"
	"github.com/coffer-go/coffer/internal/layout"
	"github.com/coffer-go/coffer/internal/testengine"
)

// The floors of issue 16: what the store itself costs for the work an
// operation cannot avoid, so that coffer's share (decoding, converting)
// shows as a ratio.

// floorSize is how many secrets the listing floors list: 2,000, a large
// Secrets page, or 100 under -short.
func floorSize() int {
	if testing.Short() {
		return 100
	}
	return 2_000
}

// floorStores are the stores the floors run on: those of every benchmark,
// and PostgreSQL (COFFER_POSTGRES_URL; skipped without it, failing under
// CI=true).
var floorStores = append(append([]store(nil), stores...), store{name: "postgres", open: openPostgres})

// openPostgres opens a collection in a fresh table of the PostgreSQL server
// at COFFER_POSTGRES_URL, indexed on (Scope, Key) as backend.OpenCollection
// makes it. The table is dropped when the benchmarks end.
func openPostgres() (*docstore.Collection, error) {
	u, err := url.Parse(postgresURL)
	if err != nil {
		return nil, fmt.Errorf("COFFER_POSTGRES_URL is not a URL")
	}
	var suffix [6]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, err
	}
	table := "bench_" + hex.EncodeToString(suffix[:])
	q := u.Query()
	q.Set("table", table)
	u.RawQuery = q.Encode()
	coll, err := backend.OpenCollection(context.Background(), u.String())
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	if !coll.As(&db) {
		coll.Close()
		return nil, fmt.Errorf("postgres collection exposes no *sql.DB")
	}
	fixturesMu.Lock()
	// Closers run in reverse: the table is dropped before the collection
	// (which owns db) closes.
	closers = append(closers, func() error {
		_, err := db.Exec("DROP TABLE " + table)
		return err
	})
	fixturesMu.Unlock()
	return coll, nil
}

// postgresURL is COFFER_POSTGRES_URL, read by the benchmark that needs it.
var postgresURL string

// eachFloorStore runs fn under every floor store, skipping PostgreSQL (or
// failing, under CI=true) when its engine is not configured.
func eachFloorStore(b *testing.B, fn func(b *testing.B, st store)) {
	for _, st := range floorStores {
		b.Run("store="+st.name, func(b *testing.B) {
			if st.name == "postgres" {
				postgresURL = testengine.Env(b, testengine.PostgresURL)
			}
			fn(b, st)
		})
	}
}

// idKey is the floor's document: the two fields a names-only listing needs.
type idKey struct {
	ID  string
	Key string
}

// floorList runs List's query (the scope, in key order) projected to ID
// and Key, decoding each record into a two-field struct and keeping it.
func floorList(ctx context.Context, coll *docstore.Collection, scope string) ([]idKey, error) {
	it := layout.ListQuery(coll, scope).Get(ctx, "ID", "Key")
	defer it.Stop()
	var out []idKey
	for {
		var r idKey
		err := it.Next(ctx, &r)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
}

// BenchmarkFloorListing pairs each listing of floorSize() secrets with the
// floor (floorList): List (a Manager's repeated List over unchanged
// records, which reuses its last answer), ListFirst (a new Manager's first
// List, which reads every record), All (drained) and Keys. The metrics to
// read are List/floor, ListFirst/floor, All/floor, Keys/floor (wall time)
// and cpu-List/floor, ...
// (the CPU time of the calling thread, which does all of a listing's work
// on memdocstore and SQLite; on PostgreSQL it leaves out the server's).
// Garbage is collected before each call.
func BenchmarkFloorListing(b *testing.B) {
	eachFloorStore(b, func(b *testing.B, st store) {
		n := floorSize()
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			lf := listFixtureFor(b, st, n)
			scope := layout.Scope(project, "list")
			floor := pairedImpl{Name: "floor", Run: func(ctx context.Context, _ int) error {
				got, err := floorList(ctx, lf.coll, scope)
				if err == nil && len(got) != n {
					err = fmt.Errorf("floor listed %d records, want %d", len(got), n)
				}
				return err
			}}
			b.Run("op=List", func(b *testing.B) {
				benchpair.RunCPU(b, true, floor, pairedImpl{Name: "List", Run: func(ctx context.Context, _ int) error {
					got, err := lf.m.List(ctx)
					if err == nil && len(got) != n {
						err = fmt.Errorf("List: %d secrets, want %d", len(got), n)
					}
					return err
				}})
			})
			// A Manager's first List, with no answer of its own to reuse:
			// what every List cost before List kept its answer, and most of
			// what a List after a change costs (that one also reads the
			// keys and revisions first, as the List above does).
			b.Run("op=ListFirst", func(b *testing.B) {
				benchpair.RunCPU(b, true, floor, pairedImpl{Name: "ListFirst", Run: func(ctx context.Context, _ int) error {
					fresh, err := lf.m.Environment(lf.m.EnvironmentName())
					if err != nil {
						return err
					}
					got, err := fresh.List(ctx)
					if err == nil && len(got) != n {
						err = fmt.Errorf("List: %d secrets, want %d", len(got), n)
					}
					return err
				}})
			})
			b.Run("op=All", func(b *testing.B) {
				benchpair.RunCPU(b, true, floor, pairedImpl{Name: "All", Run: func(ctx context.Context, _ int) error {
					got := 0
					for _, err := range lf.m.All(ctx) {
						if err != nil {
							return err
						}
						got++
					}
					if got != n {
						return fmt.Errorf("All: %d secrets, want %d", got, n)
					}
					return nil
				}})
			})
			b.Run("op=Keys", func(b *testing.B) {
				benchpair.RunCPU(b, true, floor, pairedImpl{Name: "Keys", Run: func(ctx context.Context, _ int) error {
					got, err := lf.m.Keys(ctx)
					if err == nil && len(got) != n {
						err = fmt.Errorf("Keys: %d keys, want %d", len(got), n)
					}
					return err
				}})
			})
		})
	})
}

// smallDoc is the floor of the single-record operations: a 4-field
// document, the least a revision-checked record of a value can be.
type smallDoc struct {
	ID               string
	Sealed           []byte
	Version          int
	DocstoreRevision any
}

var (
	smallMu  sync.Mutex
	smallIDs = map[string][]string{}        // by store name
	noHist   = map[string]*coffer.Manager{} // by store name
)

// noHistory returns a Manager of f's secrets that keeps no history
// (MaxVersions 1).
func noHistory(b *testing.B, st store, f *fixture) *coffer.Manager {
	b.Helper()
	smallMu.Lock()
	defer smallMu.Unlock()
	if m := noHist[st.name]; m != nil {
		return m
	}
	m, err := coffer.New(f.coll, f.keeper, &coffer.Options{Project: project, Environment: "coffer", MaxVersions: 1})
	if err != nil {
		b.Fatal(err)
	}
	noHist[st.name] = m
	fixturesMu.Lock()
	closers = append(closers, m.Close)
	fixturesMu.Unlock()
	return m
}

// smallDocs stores population small documents in f's collection, once.
func smallDocs(b *testing.B, st store, f *fixture) []string {
	b.Helper()
	smallMu.Lock()
	defer smallMu.Unlock()
	if ids := smallIDs[st.name]; ids != nil {
		return ids
	}
	ctx := context.Background()
	var ids []string
	actions := f.coll.Actions().AtomicWrites()
	for i := range population {
		// The Scope-less ID keeps them out of every coffer listing.
		d := &smallDoc{ID: fmt.Sprintf("#small/%05d", i), Sealed: f.sealed, Version: 1}
		actions.Create(d)
		ids = append(ids, d.ID)
		if (i+1)%500 == 0 {
			if err := actions.Do(ctx); err != nil {
				b.Fatal(err)
			}
			actions = f.coll.Actions().AtomicWrites()
		}
	}
	smallIDs[st.name] = ids
	return ids
}

// BenchmarkFloorRecord pairs Reveal, Update and Create with store calls on
// a 4-field document (smallDoc): Reveal with a Get, Update with a Get +
// revision-checked Replace (and with history, the store calls it then
// makes), Create with a Create. The metric to read is coffer/floor.
func BenchmarkFloorRecord(b *testing.B) {
	eachFloorStore(b, func(b *testing.B, st store) {
		f := fixtureFor(b, st, keepers[0])
		ids := smallDocs(b, st, f)
		b.Run("op=Reveal", func(b *testing.B) {
			paired(b, false,
				pairedImpl{Name: "floor", Run: func(ctx context.Context, i int) error {
					return f.coll.Get(ctx, &smallDoc{ID: ids[i%population]})
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
					_, err := f.m.Reveal(ctx, f.keys[i%population])
					return err
				}})
		})
		// Update with no history (MaxVersions 1) makes two store calls, a
		// Get and a revision-checked Replace (prune makes none: no version
		// is kept), paired with the floor: the same two calls on
		// 4-field documents.
		b.Run("op=Update/history=none/floor", func(b *testing.B) {
			m1 := noHistory(b, st, f)
			paired(b, false, pairedImpl{Name: "floor", Run: func(ctx context.Context, i int) error {
				d := &smallDoc{ID: ids[i%population]}
				if err := f.coll.Get(ctx, d); err != nil {
					return err
				}
				d.Sealed, d.Version = f.sealed, d.Version+1
				return f.coll.Replace(ctx, d)
			}}, pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
				_, err := m1.Update(ctx, f.keys[i%population], coffer.Change{Value: f.value})
				return err
			}})
		})
		// Update keeping history, at its steady state (fixture.hist): the
		// floor makes the same store calls on 4-field documents, Get +
		// Create (the kept version) + Replace + Delete (the pruned one).
		b.Run("op=Update/history=steady/floorcalls", func(b *testing.B) {
			f.steadyHistory(b)
			paired(b, false,
				pairedImpl{Name: "floorcalls", Run: func(ctx context.Context, i int) error {
					d := &smallDoc{ID: ids[i%population]}
					if err := f.coll.Get(ctx, d); err != nil {
						return err
					}
					kept := &smallDoc{ID: d.ID + "/v" + strconv.Itoa(d.Version), Sealed: d.Sealed, Version: d.Version}
					if err := f.coll.Create(ctx, kept); err != nil {
						return err
					}
					d.Sealed, d.Version = f.sealed, d.Version+1
					if err := f.coll.Replace(ctx, d); err != nil {
						return err
					}
					return f.coll.Delete(ctx, &smallDoc{ID: d.ID + "/v" + strconv.Itoa(d.Version-2)})
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
					_, err := f.hist.Update(ctx, f.keys[i%population], coffer.Change{Value: f.value})
					return err
				}})
		})
		b.Run("op=Create", func(b *testing.B) {
			paired(b, false,
				pairedImpl{Name: "floor", Run: func(ctx context.Context, _ int) error {
					return f.coll.Create(ctx, &smallDoc{ID: "#small/" + f.nextKey(), Sealed: f.sealed, Version: 1})
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, _ int) error {
					_, err := f.m.Create(ctx, coffer.NewSecret{Key: f.nextKey(), Value: f.value})
					return err
				}})
		})
	})
}
