package benchmarks

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/layout"
)

// pairedImpl is one form of an operation, run once per call on record i.
type pairedImpl struct {
	name string
	run  func(ctx context.Context, i int) error
}

// paired runs two forms of one operation back to back in every iteration,
// alternating which goes first, and reports the median over iterations of
// the second form's time divided by the first's (coffer/raw, naive/coffer),
// and each form's mean time. Both calls of a pair run within microseconds
// of each other, so a burst of load from other processes on a shared
// machine hits both alike, and the median drops the pairs a burst split.
// Only two forms share a loop, so each follows the other equally often
// (a keeper call leaves work behind, such as the HTTP client's goroutines,
// that would slow whichever call came next). With gc set, garbage is
// collected (untimed) before each call, so a call that allocates a lot
// (a listing) does not leave its collection to the next. ns/op is the time
// of both forms together.
func paired(b *testing.B, gc bool, first, second pairedImpl) {
	ctx := context.Background()
	impls := [2]pairedImpl{first, second}
	var totals, took [2]time.Duration
	var ratios []float64
	i := 0
	for b.Loop() {
		for j := range impls {
			k := (i + j) % 2
			if gc {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
			}
			start := time.Now()
			if err := impls[k].run(ctx, i); err != nil {
				b.Fatalf("%s: %v", impls[k].name, err)
			}
			took[k] = time.Since(start)
			totals[k] += took[k]
		}
		ratios = append(ratios, float64(took[1])/float64(took[0]))
		i++
	}
	for k, im := range impls {
		b.ReportMetric(float64(totals[k].Nanoseconds())/float64(i), "ns/"+im.name)
	}
	b.ReportMetric(median(ratios), second.name+"/"+first.name)
}

// pairs runs raw against coffer and, when naive is given, coffer against
// naive, as sub-benchmarks pair=coffer-raw and pair=naive-coffer.
func pairs(b *testing.B, raw, cof pairedImpl, naive *pairedImpl) {
	b.Run("pair=coffer-raw", func(b *testing.B) { paired(b, false, raw, cof) })
	if naive != nil {
		b.Run("pair=naive-coffer", func(b *testing.B) { paired(b, false, cof, *naive) })
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// eachFixture runs fn under every store and keeper.
func eachFixture(b *testing.B, fn func(b *testing.B, f *fixture)) {
	for _, st := range stores {
		for _, kk := range keepers {
			b.Run("store="+st.name+"/keeper="+kk.name, func(b *testing.B) {
				fn(b, fixtureFor(b, st, kk))
			})
		}
	}
}

// BenchmarkPaired measures coffer's ratios to its baselines with the forms
// of each operation interleaved call by call (see paired): the figures to
// read are the coffer/raw and naive/coffer metrics. The listing pairs
// collect garbage before each call; run them with a -benchtime of seconds.
func BenchmarkPaired(b *testing.B) {
	b.Run("op=Reveal", func(b *testing.B) {
		eachFixture(b, func(b *testing.B, f *fixture) {
			pairs(b,
				pairedImpl{"raw", func(ctx context.Context, i int) error {
					_, err := rawGet(ctx, f, f.rawIDs[i%population])
					return err
				}},
				pairedImpl{"coffer", func(ctx context.Context, i int) error {
					_, err := f.m.Reveal(ctx, f.keys[i%population])
					return err
				}},
				&pairedImpl{"naive", func(ctx context.Context, i int) error {
					rec, err := rawGet(ctx, f, f.naiveIDs[i%population])
					if err == nil {
						_, err = f.keeper.Decrypt(ctx, rec.Sealed)
					}
					return err
				}},
			)
		})
	})
	b.Run("op=Get", func(b *testing.B) {
		eachFixture(b, func(b *testing.B, f *fixture) {
			pairs(b,
				pairedImpl{"raw", func(ctx context.Context, i int) error {
					return f.coll.Get(ctx, &layout.Record{ID: f.rawIDs[i%population]}, layout.MetadataFields...)
				}},
				pairedImpl{"coffer", func(ctx context.Context, i int) error {
					_, err := f.m.Get(ctx, f.keys[i%population])
					return err
				}},
				nil,
			)
		})
	})
	b.Run("op=Create", func(b *testing.B) {
		eachFixture(b, func(b *testing.B, f *fixture) {
			pairs(b,
				pairedImpl{"raw", func(ctx context.Context, _ int) error {
					return f.coll.Create(ctx, rawRecord("raw", f.nextKey(), f.sealed))
				}},
				pairedImpl{"coffer", func(ctx context.Context, _ int) error {
					_, err := f.m.Create(ctx, coffer.NewSecret{Key: f.nextKey(), Value: f.value})
					return err
				}},
				&pairedImpl{"naive", func(ctx context.Context, _ int) error {
					rec, err := f.naiveRecord(ctx, f.nextKey())
					if err == nil {
						err = f.coll.Create(ctx, rec)
					}
					return err
				}},
			)
		})
	})
	b.Run("op=Update", func(b *testing.B) {
		eachFixture(b, func(b *testing.B, f *fixture) {
			rawUpdate := func(ctx context.Context, id string, sealed []byte) error {
				rec := &layout.Record{ID: id}
				if err := f.coll.Get(ctx, rec); err != nil {
					return err
				}
				rec.Sealed, rec.Version, rec.UpdatedAt, rec.RotatedAt = sealed, rec.Version+1, benchTime, benchTime
				return f.coll.Replace(ctx, rec)
			}
			pairs(b,
				pairedImpl{"raw", func(ctx context.Context, i int) error {
					return rawUpdate(ctx, f.rawIDs[i%population], f.sealed)
				}},
				pairedImpl{"coffer", func(ctx context.Context, i int) error {
					_, err := f.m.Update(ctx, f.keys[i%population], coffer.Change{Value: f.value})
					return err
				}},
				&pairedImpl{"naive", func(ctx context.Context, i int) error {
					sealed, err := f.keeper.Encrypt(ctx, []byte(f.value))
					if err != nil {
						return err
					}
					return rawUpdate(ctx, f.naiveIDs[i%population], sealed)
				}},
			)
		})
	})
	b.Run("op=List", func(b *testing.B) {
		n := 10_000
		if testing.Short() {
			n = 100
		}
		for _, st := range stores {
			b.Run("store="+st.name+"/n="+strconv.Itoa(n), func(b *testing.B) {
				lf := listFixtureFor(b, st, n)
				paired(b, true,
					pairedImpl{"raw", func(ctx context.Context, _ int) error {
						_, err := rawList(ctx, lf, nil)
						return err
					}},
					pairedImpl{"coffer", func(ctx context.Context, _ int) error {
						_, err := lf.m.List(ctx)
						return err
					}},
				)
			})
		}
	})
}
