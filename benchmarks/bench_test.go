package benchmarks

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/secrets"
	_ "gocloud.dev/secrets/awskms" // awskms:// keepers, against local-kms

	_ "github.com/coffer-go/coffer/backend/sqldocstore" // sqlite:// collections
	"github.com/coffer-go/coffer/coffertest"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/crypto"
	"github.com/coffer-go/coffer/crypto/cryptotest"
	"github.com/coffer-go/coffer/internal/layout"
	"github.com/coffer-go/coffer/internal/testengine"
)

const (
	// population is how many secrets the single-record benchmarks cycle
	// through, so no benchmark measures one hot record.
	population = 1000
	// valueSize is the length of the benchmarked value, a typical API key.
	valueSize = 32
	// project is the project every benchmark Manager serves; each impl keeps
	// its records in its own environment of it.
	project = "bench"
)

// store opens a new, empty collection with coffer's layout.
type store struct {
	name string
	open func() (*docstore.Collection, error)
	// maxList, when set, caps the listing sizes run on this store, to keep
	// a benchmark round within minutes.
	maxList int
}

// stores are the collections every benchmark runs on. To bench another
// driver, add a row that opens an empty collection with coffer's layout
// (PostgreSQL: backend.OpenCollection with a postgres:// URL from
// COFFER_POSTGRES_URL and a fresh table).
var stores = []store{
	{"mem", backend.OpenMemCollection, 0},
	// A listing of 100,000 took tens of seconds per call on a loaded
	// 2-core machine, too long to repeat in every round.
	{"sqlite", openSQLite, 10_000},
}

// openSQLite opens a collection in a new SQLite file (WAL, synchronous=FULL:
// the settings sqldocstore always uses), indexed on (Scope, Key) so List is
// an index scan.
func openSQLite() (*docstore.Collection, error) {
	dir, err := os.MkdirTemp("", "coffer-bench-")
	if err != nil {
		return nil, err
	}
	fixturesMu.Lock()
	closers = append(closers, func() error { return os.RemoveAll(dir) })
	fixturesMu.Unlock()
	return backend.OpenCollection(context.Background(), "sqlite://"+dir+"/bench.db?table=secrets&index=Scope,Key")
}

// keeperKind opens the keeper that wraps the data keys (and, for impl=naive,
// seals each value).
type keeperKind struct {
	name string
	open func(tb testing.TB) (*secrets.Keeper, error)
}

var keepers = []keeperKind{
	{"local", func(tb testing.TB) (*secrets.Keeper, error) {
		return coffertest.RandomKeeper(tb), nil
	}},
	{"awskms", func(tb testing.TB) (*secrets.Keeper, error) {
		endpoint := testengine.Env(tb, "COFFER_KMS_ENDPOINT")
		return secrets.OpenKeeper(context.Background(),
			"awskms://alias/coffer-test?region=eu-west-2&endpoint="+url.QueryEscape(endpoint))
	}},
}

// Fixtures are built once per process and shared by every run of a
// benchmark (the framework calls a benchmark function several times while
// it sizes b.N), so they are closed in TestMain, not by b.Cleanup.
var (
	fixturesMu sync.Mutex
	fixtures   = map[string]*fixture{}
	closers    []func() error
)

func TestMain(m *testing.M) {
	code := m.Run()
	for i := len(closers) - 1; i >= 0; i-- {
		_ = closers[i]()
	}
	os.Exit(code)
}

// fixture is one collection and keeper with population secrets stored three
// ways: by coffer (environment "coffer"), raw with placeholder bytes of the
// envelope's size (environment "raw"), and sealed per value by the keeper
// (environment "naive"). The same keys exist in each.
type fixture struct {
	coll     *docstore.Collection
	keeper   *secrets.Keeper // counted: every call goes through counter
	counter  *cryptotest.CountingKeeper
	m        *coffer.Manager
	keys     []string
	rawIDs   []string
	naiveIDs []string
	value    coffer.Value
	sealed   []byte // the raw records' placeholder for an envelope
	seq      atomic.Int64
	// hist updates the same secrets as m, keeping MaxVersions 2, so that
	// once steadyHistory has run, every Update keeps one version and
	// prunes one: the steady state of a secret with history (with the
	// default of 10, from its 11th value on).
	hist    *coffer.Manager
	warm    sync.Once
	warmErr error
	// vers serves the same keys in environment "versions", each with two
	// values (version 1 kept), once withVersions has run.
	vers    *coffer.Manager
	versSet sync.Once
	versErr error
}

// withVersions stores every key of the fixture in environment "versions"
// with two values, so that version 1 of each is kept (once per fixture).
func (f *fixture) withVersions(b *testing.B) {
	f.versSet.Do(func() {
		ctx := context.Background()
		for _, key := range f.keys {
			if _, err := f.vers.Create(ctx, coffer.NewSecret{Key: key, Value: f.value}); err != nil {
				f.versErr = err
				return
			}
			if _, err := f.vers.Update(ctx, key, coffer.Change{Value: f.value}); err != nil {
				f.versErr = err
				return
			}
		}
	})
	if f.versErr != nil {
		b.Fatal(f.versErr)
	}
}

// steadyHistory gives every secret of the fixture one kept version (once
// per fixture, before the first Update benchmark): from then on each
// Update through hist keeps a version and prunes one.
func (f *fixture) steadyHistory(b *testing.B) {
	f.warm.Do(func() {
		ctx := context.Background()
		for _, key := range f.keys {
			if _, err := f.hist.Update(ctx, key, coffer.Change{Value: f.value}); err != nil {
				f.warmErr = err
				return
			}
		}
	})
	if f.warmErr != nil {
		b.Fatal(f.warmErr)
	}
}

// rawUpdate is the store work of an Update that keeps history, with no
// validation and no sealing: read the record, create a document holding its
// current envelope (the version it had), replace the record with sealed.
func (f *fixture) rawUpdate(ctx context.Context, id string, sealed []byte) error {
	rec := &layout.Record{ID: id}
	if err := f.coll.Get(ctx, rec); err != nil {
		return err
	}
	// A fresh document each time: the raw form never prunes.
	ver := layout.NewVersionRecord(project, rec.Environment, rec.Key, int(f.seq.Add(1)))
	ver.Project, ver.Environment, ver.SecretKey = project, rec.Environment, rec.Key
	ver.CreatedAt, ver.Version, ver.SetAt, ver.Sealed = rec.CreatedAt, rec.Version, rec.RotatedAt, rec.Sealed
	if err := f.coll.Create(ctx, ver); err != nil {
		return err
	}
	rec.Sealed, rec.Version, rec.UpdatedAt, rec.RotatedAt = sealed, rec.Version+1, benchTime, benchTime
	return f.coll.Replace(ctx, rec)
}

func newCollection(st store) (*docstore.Collection, error) {
	coll, err := st.open()
	if err != nil {
		return nil, err
	}
	fixturesMu.Lock()
	closers = append(closers, coll.Close)
	fixturesMu.Unlock()
	return coll, nil
}

func fixtureFor(b *testing.B, st store, kk keeperKind) *fixture {
	b.Helper()
	name := st.name + "/" + kk.name
	fixturesMu.Lock()
	f := fixtures[name]
	fixturesMu.Unlock()
	if f != nil {
		return f
	}
	keeper, err := kk.open(b)
	if err != nil {
		b.Fatalf("open keeper %s: %v", kk.name, err)
	}
	coll, err := newCollection(st)
	if err != nil {
		b.Fatalf("open store %s: %v", st.name, err)
	}
	f = &fixture{coll: coll, counter: cryptotest.NewCountingKeeper(keeper)}
	f.keeper = f.counter.Keeper()
	f.value = coffer.Value(randomBytes(b, valueSize/2, true))
	f.sealed = randomBytes(b, valueSize+crypto.Overhead, false)
	f.m, err = coffer.New(coll, f.keeper, &coffer.Options{Project: project, Environment: "coffer"})
	if err != nil {
		b.Fatal(err)
	}
	f.hist, err = coffer.New(coll, f.keeper, &coffer.Options{Project: project, Environment: "coffer", MaxVersions: 2})
	if err != nil {
		b.Fatal(err)
	}
	f.vers, err = coffer.New(coll, f.keeper, &coffer.Options{Project: project, Environment: "versions"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range population {
		key := fmt.Sprintf("KEY_%05d", i)
		f.keys = append(f.keys, key)
		if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: f.value}); err != nil {
			b.Fatal(err)
		}
		raw := rawRecord("raw", key, f.sealed)
		if err := coll.Create(ctx, raw); err != nil {
			b.Fatal(err)
		}
		f.rawIDs = append(f.rawIDs, raw.ID)
		naive, err := f.naiveRecord(ctx, key)
		if err != nil {
			b.Fatal(err)
		}
		if err := coll.Create(ctx, naive); err != nil {
			b.Fatal(err)
		}
		f.naiveIDs = append(f.naiveIDs, naive.ID)
	}
	fixturesMu.Lock()
	fixtures[name] = f
	closers = append(closers, f.m.Close, f.hist.Close, f.vers.Close, keeper.Close)
	fixturesMu.Unlock()
	return f
}

// randomBytes returns n random bytes, hex-encoded to 2n printable bytes when
// printable is set (a value as a user would store it).
func randomBytes(b *testing.B, n int, printable bool) []byte {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		b.Fatal(err)
	}
	if !printable {
		return buf
	}
	return fmt.Appendf(nil, "%x", buf)
}

// benchTime is the fixed time of raw records: the floor pays no clock read.
var benchTime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// rawRecord is a record of the same shape as coffer's, in environment env.
func rawRecord(env, key string, sealed []byte) *layout.Record {
	return &layout.Record{
		ID: layout.ID(project, env, key), Scope: layout.Scope(project, env),
		Project: project, Environment: env, Key: key, Type: string(coffer.TypeGeneric),
		CreatedAt: benchTime, UpdatedAt: benchTime, RotatedAt: benchTime,
		Version: 1, Sealed: sealed,
	}
}

// naiveRecord seals the fixture's value with one keeper call.
func (f *fixture) naiveRecord(ctx context.Context, key string) (*layout.Record, error) {
	sealed, err := f.keeper.Encrypt(ctx, []byte(f.value))
	if err != nil {
		return nil, err
	}
	return rawRecord("naive", key, sealed), nil
}

// nextKey returns a key no record has yet.
func (f *fixture) nextKey() string {
	return "NEW_" + strconv.FormatInt(f.seq.Add(1), 10)
}

// impl is one way of doing an operation: raw, coffer or naive.
type impl struct {
	name string
	run  func(b *testing.B, f *fixture)
}

// bench runs every impl on every store and keeper, reporting allocations
// and keeper calls per operation.
func bench(b *testing.B, impls ...impl) {
	benchPrepared(b, nil, impls...)
}

// benchPrepared is bench with prepare, when set, run on each fixture
// before its impls, untimed and with its keeper calls not counted.
func benchPrepared(b *testing.B, prepare func(*fixture, *testing.B), impls ...impl) {
	for _, st := range stores {
		for _, kk := range keepers {
			b.Run("store="+st.name+"/keeper="+kk.name, func(b *testing.B) {
				f := fixtureFor(b, st, kk)
				if prepare != nil {
					prepare(f, b)
				}
				for _, im := range impls {
					b.Run("impl="+im.name, func(b *testing.B) {
						b.ReportAllocs()
						before := f.counter.Encrypts() + f.counter.Decrypts()
						b.ResetTimer()
						im.run(b, f)
						b.StopTimer()
						b.ReportMetric(float64(f.counter.Encrypts()+f.counter.Decrypts()-before)/float64(b.N), "keeper-calls/op")
					})
				}
			})
		}
	}
}

// check fails the benchmark on an error. It is called per operation, so it
// stays small.
func check(b *testing.B, err error) {
	if err != nil {
		b.Fatal(err)
	}
}

// rawGet reads a record's ID, CreatedAt and Sealed: the read Reveal makes.
func rawGet(ctx context.Context, f *fixture, id string) (*layout.Record, error) {
	rec := &layout.Record{ID: id}
	return rec, f.coll.Get(ctx, rec, "ID", "CreatedAt", "Sealed")
}

var (
	rawReveal = impl{"raw", func(b *testing.B, f *fixture) {
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			_, err := rawGet(ctx, f, f.rawIDs[i%population])
			check(b, err)
		}
	}}
	cofferReveal = impl{"coffer", func(b *testing.B, f *fixture) {
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			v, err := f.m.Reveal(ctx, f.keys[i%population])
			check(b, err)
			if len(v) != len(f.value) {
				b.Fatal("Reveal returned a value of the wrong length")
			}
		}
	}}
	naiveReveal = impl{"naive", func(b *testing.B, f *fixture) {
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			rec, err := rawGet(ctx, f, f.naiveIDs[i%population])
			check(b, err)
			plain, err := f.keeper.Decrypt(ctx, rec.Sealed)
			check(b, err)
			if len(coffer.Value(plain)) != len(f.value) {
				b.Fatal("Decrypt returned a value of the wrong length")
			}
		}
	}}
)

// BenchmarkReveal: coffer's Reveal (one Get of ID, CreatedAt and Sealed, one AES-GCM
// open) against the same Get alone and against Get + keeper.Decrypt.
func BenchmarkReveal(b *testing.B) {
	bench(b, rawReveal, cofferReveal, naiveReveal)
}

// BenchmarkRevealParallel is BenchmarkReveal from GOMAXPROCS goroutines.
func BenchmarkRevealParallel(b *testing.B) {
	parallel := func(im impl) impl {
		return impl{im.name, func(b *testing.B, f *fixture) {
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				i := int(next.Add(population / 7)) // goroutines start on different records
				for ; pb.Next(); i++ {
					var err error
					switch im.name {
					case "raw":
						_, err = rawGet(ctx, f, f.rawIDs[i%population])
					case "coffer":
						_, err = f.m.Reveal(ctx, f.keys[i%population])
					case "naive":
						var rec *layout.Record
						if rec, err = rawGet(ctx, f, f.naiveIDs[i%population]); err == nil {
							_, err = f.keeper.Decrypt(ctx, rec.Sealed)
						}
					}
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}}
	}
	bench(b, parallel(rawReveal), parallel(cofferReveal), parallel(naiveReveal))
}

// BenchmarkGet: coffer's Get (metadata only) against the same projected Get.
func BenchmarkGet(b *testing.B) {
	bench(b,
		impl{"raw", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				rec := &layout.Record{ID: f.rawIDs[i%population]}
				check(b, f.coll.Get(ctx, rec, layout.MetadataFields...))
			}
		}},
		impl{"coffer", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				_, err := f.m.Get(ctx, f.keys[i%population])
				check(b, err)
			}
		}},
	)
}

// BenchmarkCreate: coffer's Create (validation, one seal, one Create)
// against a bare Create of a same-shaped record, and against
// keeper.Encrypt + Create.
func BenchmarkCreate(b *testing.B) {
	bench(b,
		impl{"raw", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for b.Loop() {
				check(b, f.coll.Create(ctx, rawRecord("raw", f.nextKey(), f.sealed)))
			}
		}},
		impl{"coffer", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for b.Loop() {
				_, err := f.m.Create(ctx, coffer.NewSecret{Key: f.nextKey(), Value: f.value})
				check(b, err)
			}
		}},
		impl{"naive", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for b.Loop() {
				rec, err := f.naiveRecord(ctx, f.nextKey())
				check(b, err)
				check(b, f.coll.Create(ctx, rec))
			}
		}},
	)
}

// BenchmarkUpdate: coffer's Update of the value with history, at the
// steady state (one Get, one seal, the replaced value kept as a version
// document, one revision-checked Replace, the oldest version deleted: see
// fixture.hist), against Get + Create of the version document + Replace,
// and against the same with keeper.Encrypt.
func BenchmarkUpdate(b *testing.B) {
	update := func(name string, ids func(*fixture) []string, seal func(context.Context, *fixture) ([]byte, error)) impl {
		return impl{name, func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				sealed, err := seal(ctx, f)
				check(b, err)
				check(b, f.rawUpdate(ctx, ids(f)[i%population], sealed))
			}
		}}
	}
	benchPrepared(b, (*fixture).steadyHistory,
		update("raw", func(f *fixture) []string { return f.rawIDs },
			func(_ context.Context, f *fixture) ([]byte, error) { return f.sealed, nil }),
		impl{"coffer", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				_, err := f.hist.Update(ctx, f.keys[i%population], coffer.Change{Value: f.value})
				check(b, err)
			}
		}},
		update("naive", func(f *fixture) []string { return f.naiveIDs },
			func(ctx context.Context, f *fixture) ([]byte, error) {
				return f.keeper.Encrypt(ctx, []byte(f.value))
			}),
	)
}

// BenchmarkDelete: coffer's Delete (a Get of the revision, then a
// revision-checked Delete, so a missing key is reported) against a bare
// Delete. The records are made before the timer starts.
func BenchmarkDelete(b *testing.B) {
	bench(b,
		impl{"raw", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			b.StopTimer()
			ids := make([]string, b.N)
			for i := range ids {
				rec := rawRecord("raw", f.nextKey(), f.sealed)
				check(b, f.coll.Create(ctx, rec))
				ids[i] = rec.ID
			}
			b.StartTimer()
			for i := range b.N {
				check(b, f.coll.Delete(ctx, &layout.Record{ID: ids[i]}))
			}
		}},
		impl{"coffer", func(b *testing.B, f *fixture) {
			ctx := context.Background()
			b.StopTimer()
			keys := make([]string, b.N)
			for i := range keys {
				keys[i] = f.nextKey()
				_, err := f.m.Create(ctx, coffer.NewSecret{Key: keys[i], Value: f.value})
				check(b, err)
			}
			b.StartTimer()
			for i := range b.N {
				check(b, f.m.Delete(ctx, keys[i]))
			}
		}},
	)
}

// listSizes are the numbers of secrets List is measured over.
var listSizes = []int{100, 10_000, 100_000}

// sizes returns the sizes st runs: those up to its maxList, and none over
// 10,000 under -short, for a quick smoke run.
func sizes(st store, all []int) []int {
	limit := st.maxList
	if testing.Short() && (limit == 0 || limit > 10_000) {
		limit = 10_000
	}
	var out []int
	for _, n := range all {
		if limit == 0 || n <= limit {
			out = append(out, n)
		}
	}
	return out
}

// listFixture is a collection holding n secrets in one scope, listed by m;
// each size has its own collection, so a store that scans (memdocstore)
// scans only those.
type listFixture struct {
	coll *docstore.Collection
	m    *coffer.Manager
	n    int
}

var (
	listFixturesMu sync.Mutex
	listFixtures   = map[string]*listFixture{}
)

func listFixtureFor(b *testing.B, st store, n int) *listFixture {
	b.Helper()
	listFixturesMu.Lock()
	defer listFixturesMu.Unlock()
	name := st.name + "/" + strconv.Itoa(n)
	if lf := listFixtures[name]; lf != nil {
		return lf
	}
	coll, err := newCollection(st)
	if err != nil {
		b.Fatal(err)
	}
	keeper := coffertest.RandomKeeper(b)
	m, err := coffer.New(coll, keeper, &coffer.Options{Project: project, Environment: "list"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// One secret through coffer makes the keyring; the rest are written in
	// batches (a write per secret would take minutes on SQLite, which syncs
	// every commit), in the same shape, with a placeholder envelope: List
	// never reads Sealed (TestListNeverReadsSealed proves it). Keys are
	// written out of order, so the listing's sort does real work.
	const description = "Used by the billing service to reach the payment provider."
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "KEY_000000", Value: "v", Description: description}); err != nil {
		b.Fatal(err)
	}
	sealed := randomBytes(b, valueSize+crypto.Overhead, false)
	actions := coll.Actions().AtomicWrites()
	for i := 1; i < n; i++ {
		rec := rawRecord("list", fmt.Sprintf("KEY_%06d", (i*7919)%n), sealed)
		rec.Description = description
		actions.Create(rec)
		if i%1000 == 0 || i == n-1 {
			if err := actions.Do(ctx); err != nil {
				b.Fatal(err)
			}
			actions = coll.Actions().AtomicWrites()
		}
	}
	lf := &listFixture{coll: coll, m: m, n: n}
	listFixtures[name] = lf
	fixturesMu.Lock()
	closers = append(closers, m.Close, keeper.Close)
	fixturesMu.Unlock()
	return lf
}

// rawList runs List's projected, ordered query and decodes every record,
// calling fn on each (nil: keep them all, as List does).
func rawList(ctx context.Context, lf *listFixture, fn func(*layout.Record)) ([]*layout.Record, error) {
	it := lf.coll.Query().
		Where("Scope", "=", layout.Scope(project, "list")).
		Where("Key", ">", "").
		OrderBy("Key", docstore.Ascending).
		Get(ctx, layout.MetadataFields...)
	defer it.Stop()
	var out []*layout.Record
	for {
		rec := &layout.Record{}
		err := it.Next(ctx, rec)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if fn != nil {
			fn(rec)
		} else {
			out = append(out, rec)
		}
	}
}

// BenchmarkList: coffer's List and All against the same projected query
// with every record decoded and kept (raw). -short leaves out the largest
// size.
func BenchmarkList(b *testing.B) {
	for _, st := range stores {
		for _, n := range sizes(st, listSizes) {
			b.Run(fmt.Sprintf("store=%s/n=%d", st.name, n), func(b *testing.B) {
				lf := listFixtureFor(b, st, n)
				ctx := context.Background()
				b.Run("impl=raw", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						recs, err := rawList(ctx, lf, nil)
						check(b, err)
						if len(recs) != n {
							b.Fatalf("raw query: %d records, want %d", len(recs), n)
						}
					}
				})
				b.Run("impl=coffer", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						list, err := lf.m.List(ctx)
						check(b, err)
						if len(list) != n {
							b.Fatalf("List: %d secrets, want %d", len(list), n)
						}
					}
				})
				b.Run("impl=all", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						got := 0
						for _, err := range lf.m.All(ctx) {
							check(b, err)
							got++
						}
						if got != n {
							b.Fatalf("All: %d secrets, want %d", got, n)
						}
					}
				})
			})
		}
	}
}

// liveHeap collects garbage and returns the bytes of live heap objects.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// above returns how far heap is above base, or 0.
func above(heap, base uint64) uint64 {
	if heap < base {
		return 0
	}
	return heap - base
}

// memorySizes are the numbers of secrets the listing's memory is measured
// over: a tenfold step shows whether the peak grows with them.
var memorySizes = []int{10_000, 100_000}

// BenchmarkListMemory reports the peak live heap (bytes above the heap
// before the call, garbage collected first) of listing n secrets: List
// (whose result holds them all) against All and the bare query (raw), which
// are drained without keeping anything. It samples the heap four times
// during a streaming listing, collecting garbage each time, so its ns/op
// measures the collector, not the listing: read only peak-live-B. Run it
// with -benchtime 1x. -short leaves out the largest size.
func BenchmarkListMemory(b *testing.B) {
	for _, st := range stores {
		for _, n := range sizes(st, memorySizes) {
			b.Run(fmt.Sprintf("store=%s/n=%d", st.name, n), func(b *testing.B) {
				lf := listFixtureFor(b, st, n)
				ctx := context.Background()
				every := n / 4
				streamed := func(b *testing.B, drain func(sample func())) {
					var peak uint64
					for b.Loop() {
						base, seen := liveHeap(), 0
						drain(func() {
							if seen++; seen%every == 0 {
								peak = max(peak, above(liveHeap(), base))
							}
						})
					}
					b.ReportMetric(float64(peak), "peak-live-B")
				}
				b.Run("impl=raw", func(b *testing.B) {
					streamed(b, func(sample func()) {
						_, err := rawList(ctx, lf, func(*layout.Record) { sample() })
						check(b, err)
					})
				})
				b.Run("impl=all", func(b *testing.B) {
					streamed(b, func(sample func()) {
						for _, err := range lf.m.All(ctx) {
							check(b, err)
							sample()
						}
					})
				})
				b.Run("impl=coffer", func(b *testing.B) {
					var peak uint64
					for b.Loop() {
						base := liveHeap()
						list, err := lf.m.List(ctx)
						check(b, err)
						// The result is the least List holds at its peak.
						peak = max(peak, above(liveHeap(), base))
						runtime.KeepAlive(list)
					}
					b.ReportMetric(float64(peak), "peak-live-B")
				})
			})
		}
	}
}

// resealSize is the number of secrets BenchmarkReseal re-seals: 10,000, or
// 1,000 under -short.
func resealSize() int {
	if testing.Short() {
		return 1_000
	}
	return 10_000
}

// resealFixture is a collection holding resealSize() secrets sealed by coffer
// and nothing else (Reseal covers the whole collection).
type resealFixture struct {
	coll    *docstore.Collection
	m       *coffer.Manager
	counter *cryptotest.CountingKeeper
}

var (
	resealFixturesMu sync.Mutex
	resealFixtures   = map[string]*resealFixture{}
)

func resealFixtureFor(b *testing.B, st store) *resealFixture {
	b.Helper()
	resealFixturesMu.Lock()
	defer resealFixturesMu.Unlock()
	if rf := resealFixtures[st.name]; rf != nil {
		return rf
	}
	coll, err := newCollection(st)
	if err != nil {
		b.Fatal(err)
	}
	keeper := coffertest.RandomKeeper(b)
	counter := cryptotest.NewCountingKeeper(keeper)
	m, err := coffer.New(coll, counter.Keeper(), &coffer.Options{Project: project, Environment: "reseal"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "KEY_00000", Value: "v"}); err != nil {
		b.Fatal(err)
	}
	// The other records carry real envelopes, sealed by a keyring on the
	// same collection and keeper, and are written in batches: a write per
	// secret would take minutes on SQLite, which syncs every commit.
	kr := crypto.NewKeyring(coll, counter.Keeper(), nil)
	value := randomBytes(b, valueSize/2, true)
	actions := coll.Actions().AtomicWrites()
	n := resealSize()
	for i := 1; i < n; i++ {
		rec := rawRecord("reseal", fmt.Sprintf("KEY_%05d", i), nil)
		place := crypto.Place{Project: project, Environment: "reseal", Key: rec.Key, CreatedAt: rec.CreatedAt}
		if rec.Sealed, err = kr.Seal(ctx, place, value); err != nil {
			b.Fatal(err)
		}
		actions.Create(rec)
		if i%1000 == 0 || i == n-1 {
			if err := actions.Do(ctx); err != nil {
				b.Fatal(err)
			}
			actions = coll.Actions().AtomicWrites()
		}
	}
	rf := &resealFixture{coll: coll, m: m, counter: counter}
	resealFixtures[st.name] = rf
	fixturesMu.Lock()
	closers = append(closers, m.Close, keeper.Close)
	fixturesMu.Unlock()
	return rf
}

// BenchmarkReseal: coffer's Reseal of resealSize() secrets after a
// RotateDataKey (untimed), against the store work it needs with no opening
// or sealing (raw): one query of every record, then per batch of
// coffer.DefaultResealBatch one ActionList of Gets and one of Replaces.
func BenchmarkReseal(b *testing.B) {
	for _, st := range stores {
		b.Run("store="+st.name+"/n="+strconv.Itoa(resealSize()), func(b *testing.B) {
			rf := resealFixtureFor(b, st)
			ctx := context.Background()
			b.Run("impl=raw", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					check(b, rawReseal(ctx, rf.coll))
				}
			})
			b.Run("impl=coffer", func(b *testing.B) {
				b.ReportAllocs()
				calls := 0
				for range b.N {
					b.StopTimer()
					check(b, rf.m.RotateDataKey(ctx))
					before := rf.counter.Encrypts() + rf.counter.Decrypts()
					b.StartTimer()
					stats, err := rf.m.Reseal(ctx, nil)
					check(b, err)
					calls += rf.counter.Encrypts() + rf.counter.Decrypts() - before
					if stats.Resealed != resealSize() {
						b.Fatalf("Reseal re-sealed %d records, want %d: %+v", stats.Resealed, resealSize(), stats)
					}
				}
				b.ReportMetric(float64(calls)/float64(b.N), "keeper-calls/op")
			})
		})
	}
}

// rawReseal reads every secret record and writes each back as it was (the
// envelopes must stay valid for impl=coffer), in Reseal's batches, with no
// opening or sealing.
func rawReseal(ctx context.Context, coll *docstore.Collection) error {
	it := coll.Query().Get(ctx, "ID", "Scope", "Project", "Environment", "Key", "Sealed")
	var todo []*layout.Record
	for {
		rec := &layout.Record{}
		err := it.Next(ctx, rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			it.Stop()
			return err
		}
		if rec.Scope != layout.KeyringScope {
			todo = append(todo, &layout.Record{ID: rec.ID})
		}
	}
	it.Stop()
	for len(todo) > 0 {
		n := min(len(todo), coffer.DefaultResealBatch)
		reads, writes := coll.Actions(), coll.Actions()
		for _, rec := range todo[:n] {
			reads.Get(rec)
		}
		if err := reads.Do(ctx); err != nil {
			return err
		}
		for _, rec := range todo[:n] {
			writes.Replace(rec)
		}
		if err := writes.Do(ctx); err != nil {
			return err
		}
		todo = todo[n:]
	}
	return nil
}
