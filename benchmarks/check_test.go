package benchmarks

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/secrets/localsecrets"
	"golang.org/x/sys/unix"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/benchpair"
	"github.com/coffer-go/coffer/internal/faults"
)

// checkEnvs are the environments of the Check benchmarks.
var checkEnvs = []string{"development", "staging", "production"}

// checkFixture is one collection holding n secrets in each of checkEnvs,
// written by coffer (Check opens them, so they need real envelopes): a
// quarter each of tokens, passwords, URLs and generic settings, every value
// generated and distinct, every tenth secret without a description and
// every fiftieth missing from staging, so the report has findings to build.
type checkFixture struct {
	m     *coffer.Manager   // the first environment's; Check reads all three
	envs  []*coffer.Manager // one per environment, for Environ
	n     int
	onNxt *func() // called after each record a query returns, when set
}

var (
	checkFixturesMu sync.Mutex
	checkFixtures   = map[string]*checkFixture{}
)

// checkSize is the number of secrets per environment: 1,000, or 100 under
// -short.
func checkSize() int {
	if testing.Short() {
		return 100
	}
	return 1000
}

func checkFixtureFor(b *testing.B, st store, n int) *checkFixture {
	b.Helper()
	checkFixturesMu.Lock()
	defer checkFixturesMu.Unlock()
	name := st.name + "/" + strconv.Itoa(n)
	if cf := checkFixtures[name]; cf != nil {
		return cf
	}
	inner, err := newCollection(st)
	if err != nil {
		b.Fatal(err)
	}
	d, err := faults.DriverOf(inner)
	if err != nil {
		b.Fatal(err)
	}
	cf := &checkFixture{n: n, onNxt: new(func())}
	coll := docstore.NewCollection(&hookedDriver{Collection: d, onNext: cf.onNxt})
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		b.Fatal(err)
	}
	keeper := localsecrets.NewKeeper(key)
	cf.m, err = coffer.New(coll, keeper, &coffer.Options{Project: project, Environment: checkEnvs[0]})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	suffixes := []string{"_TOKEN", "_PASSWORD", "_URL", ""}
	for _, env := range checkEnvs {
		em, err := cf.m.Environment(env)
		if err != nil {
			b.Fatal(err)
		}
		cf.envs = append(cf.envs, em)
		for i := range n {
			if env == "staging" && i%50 == 0 {
				continue
			}
			v, err := coffer.Generate(32)
			if err != nil {
				b.Fatal(err)
			}
			s := coffer.NewSecret{Key: fmt.Sprintf("SERVICE_%06d%s", i, suffixes[i%4]), Value: v, Description: "Used by the billing service."}
			if i%10 == 0 {
				s.Description = ""
			}
			if _, err := em.Create(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	checkFixtures[name] = cf
	fixturesMu.Lock()
	closers = append(closers, cf.m.Close, keeper.Close, coll.Close)
	fixturesMu.Unlock()
	return cf
}

// hookedDriver calls *onNext, when set, after each record a query returns:
// the memory benchmark samples the heap there, in the middle of a listing.
type hookedDriver struct {
	driver.Collection
	onNext *func()
}

// Close leaves the wrapped driver to the collection it came from.
func (h *hookedDriver) Close() error { return nil }

func (h *hookedDriver) RunGetQuery(ctx context.Context, q *driver.Query) (driver.DocumentIterator, error) {
	it, err := h.Collection.RunGetQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	return &hookedIterator{DocumentIterator: it, onNext: h.onNext}, nil
}

type hookedIterator struct {
	driver.DocumentIterator
	onNext *func()
}

func (it *hookedIterator) Next(ctx context.Context, doc driver.Document) error {
	err := it.DocumentIterator.Next(ctx, doc)
	if f := *it.onNext; err == nil && f != nil {
		f()
	}
	return err
}

// environAll is the baseline of Check: Environ of every environment, which
// lists each one and opens every value, as Check over them does.
func (cf *checkFixture) environAll(ctx context.Context) (int, error) {
	total := 0
	for _, em := range cf.envs {
		env, err := em.Environ(ctx)
		if err != nil {
			return 0, err
		}
		total += len(env)
	}
	return total, nil
}

func (cf *checkFixture) check(ctx context.Context) ([]coffer.Finding, error) {
	return cf.m.Check(ctx, &coffer.CheckOptions{Environments: checkEnvs})
}

// BenchmarkPairedCheck: Check over three environments of n secrets each
// against Environ of the same three (one listing and every value opened per
// environment), paired call by call as in BenchmarkPaired, with garbage
// collected before each call. The figure to read is check/environ, the
// median of the pairs' wall-time ratios; check/environ-cpu is the median of
// their ratios of process CPU time, which waiting for a core on a loaded
// machine does not inflate.
func BenchmarkPairedCheck(b *testing.B) {
	n := checkSize()
	for _, st := range stores {
		b.Run(fmt.Sprintf("store=%s/envs=%d/n=%d", st.name, len(checkEnvs), n), func(b *testing.B) {
			cf := checkFixtureFor(b, st, n)
			ctx := context.Background()
			findings, err := cf.check(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if len(findings) == 0 {
				b.Fatal("the fixture gives no finding")
			}
			var cpuEnviron, cpuCheck []time.Duration
			timed := func(cpu *[]time.Duration, f func() error) error {
				start := processCPU(b)
				err := f()
				*cpu = append(*cpu, processCPU(b)-start)
				return err
			}
			paired(b, true,
				pairedImpl{Name: "environ", Run: func(ctx context.Context, _ int) error {
					return timed(&cpuEnviron, func() error {
						_, err := cf.environAll(ctx)
						return err
					})
				}},
				pairedImpl{Name: "check", Run: func(ctx context.Context, _ int) error {
					return timed(&cpuCheck, func() error {
						_, err := cf.check(ctx)
						return err
					})
				}},
			)
			ratios := make([]float64, len(cpuCheck))
			for i := range ratios {
				ratios[i] = float64(cpuCheck[i]) / float64(cpuEnviron[i])
			}
			b.ReportMetric(benchpair.Quantile(ratios, 0.5), "check/environ-cpu")
			b.ReportMetric(float64(len(findings)), "findings")
		})
	}
}

// processCPU is the CPU time the process has used, all threads.
func processCPU(b *testing.B) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ts.Nano())
}

// checkMemorySizes are the secrets per environment of BenchmarkCheckMemory.
var checkMemorySizes = []int{1_000, 100_000}

// BenchmarkCheckMemory reports the peak live heap (bytes above the heap
// before the call, garbage collected first) of Check over three
// environments of n secrets each, sampled eight times during its listings,
// against Environ of one environment (whose result holds every value).
// Check holds each key with a 16-byte digest of its value, and its
// findings; never the values. Run it with -benchtime 1x; ns/op measures the
// collector. -short runs only the fixture of BenchmarkPairedCheck; the largest runs on
// memdocstore only (writing 300,000 secrets one synced commit at a time
// would take SQLite most of an hour).
func BenchmarkCheckMemory(b *testing.B) {
	ns := checkMemorySizes
	if testing.Short() {
		ns = []int{checkSize()}
	}
	for _, st := range stores {
		for _, n := range ns {
			if n > 1_000 && st.maxList != 0 {
				continue
			}
			b.Run(fmt.Sprintf("store=%s/envs=%d/n=%d", st.name, len(checkEnvs), n), func(b *testing.B) {
				cf := checkFixtureFor(b, st, n)
				ctx := context.Background()
				every := len(checkEnvs) * n / 8
				measure := func(b *testing.B, secrets int, run func() (any, error)) {
					var peak uint64
					for b.Loop() {
						base, seen := liveHeap(), 0
						*cf.onNxt = func() {
							if seen++; seen%every == 0 {
								peak = max(peak, above(liveHeap(), base))
							}
						}
						out, err := run()
						*cf.onNxt = nil
						check(b, err)
						// The result is the least it holds at its peak.
						peak = max(peak, above(liveHeap(), base))
						runtime.KeepAlive(out)
					}
					b.ReportMetric(float64(peak), "peak-live-B")
					b.ReportMetric(float64(peak)/float64(secrets), "peak-live-B/secret")
				}
				b.Run("impl=check", func(b *testing.B) {
					measure(b, len(checkEnvs)*n, func() (any, error) { return cf.check(ctx) })
				})
				b.Run("impl=environ-one", func(b *testing.B) {
					measure(b, n, func() (any, error) { return cf.envs[2].Environ(ctx) })
				})
			})
		}
	}
}
