package benchmarks

import (
	"context"
	"io"
	"strconv"
	"testing"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/benchpair"
	"github.com/coffer-go/coffer/internal/layout"
)

// pairedImpl is one form of an operation, run once per call on record i.
type pairedImpl = benchpair.Impl

// paired runs two forms of one operation back to back in every iteration
// and reports the median ratio of their times (see benchpair.Run). A keeper
// call leaves work behind, such as the HTTP client's goroutines, that would
// slow whichever call came next, so only two forms share a loop; with gc
// set, a listing does not leave its garbage collection to the next call.
func paired(b *testing.B, gc bool, first, second pairedImpl) {
	benchpair.Run(b, gc, first, second)
}

// pairs runs raw against coffer and, when naive is given, coffer against
// naive, as sub-benchmarks pair=coffer-raw and pair=naive-coffer.
func pairs(b *testing.B, raw, cof pairedImpl, naive *pairedImpl) {
	b.Run("pair=coffer-raw", func(b *testing.B) { paired(b, false, raw, cof) })
	if naive != nil {
		b.Run("pair=naive-coffer", func(b *testing.B) { paired(b, false, cof, *naive) })
	}
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
				pairedImpl{Name: "raw", Run: func(ctx context.Context, i int) error {
					_, err := rawGet(ctx, f, f.rawIDs[i%population])
					return err
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
					_, err := f.m.Reveal(ctx, f.keys[i%population])
					return err
				}},
				&pairedImpl{Name: "naive", Run: func(ctx context.Context, i int) error {
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
				pairedImpl{Name: "raw", Run: func(ctx context.Context, i int) error {
					return f.coll.Get(ctx, &layout.Record{ID: f.rawIDs[i%population]}, layout.MetadataFields...)
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
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
				pairedImpl{Name: "raw", Run: func(ctx context.Context, _ int) error {
					return f.coll.Create(ctx, rawRecord("raw", f.nextKey(), f.sealed))
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, _ int) error {
					_, err := f.m.Create(ctx, coffer.NewSecret{Key: f.nextKey(), Value: f.value})
					return err
				}},
				&pairedImpl{Name: "naive", Run: func(ctx context.Context, _ int) error {
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
		// With history, at the steady state (see fixture.hist): against
		// the store work it needs at least, Get + Create + Replace.
		eachFixture(b, func(b *testing.B, f *fixture) {
			f.steadyHistory(b)
			pairs(b,
				pairedImpl{Name: "raw", Run: func(ctx context.Context, i int) error {
					return f.rawUpdate(ctx, f.rawIDs[i%population], f.sealed)
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
					_, err := f.hist.Update(ctx, f.keys[i%population], coffer.Change{Value: f.value})
					return err
				}},
				&pairedImpl{Name: "naive", Run: func(ctx context.Context, i int) error {
					sealed, err := f.keeper.Encrypt(ctx, []byte(f.value))
					if err != nil {
						return err
					}
					return f.rawUpdate(ctx, f.naiveIDs[i%population], sealed)
				}},
			)
		})
	})
	b.Run("op=RevealVersion", func(b *testing.B) {
		// A kept version: the record and the version document read in one
		// action list, as RevealVersion reads them.
		eachFixture(b, func(b *testing.B, f *fixture) {
			f.withVersions(b)
			pairs(b,
				pairedImpl{Name: "raw", Run: func(ctx context.Context, i int) error {
					key := f.keys[i%population]
					return f.coll.Actions().
						Get(layout.NewRecord(project, "versions", key), "ID", "CreatedAt", "Version", "Sealed").
						Get(layout.NewVersionRecord(project, "versions", key, 1), "ID", "SecretKey", "CreatedAt", "Version", "Sealed").
						Do(ctx)
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
					_, err := f.vers.RevealVersion(ctx, f.keys[i%population], 1)
					return err
				}},
				nil,
			)
		})
	})
	b.Run("op=Versions", func(b *testing.B) {
		// The keyed query of a secret's history and a projected Get of its
		// record, as Versions runs them.
		eachFixture(b, func(b *testing.B, f *fixture) {
			f.withVersions(b)
			pairs(b,
				pairedImpl{Name: "raw", Run: func(ctx context.Context, i int) error {
					key := f.keys[i%population]
					it := layout.ListQuery(f.coll, layout.HistoryScope(project, "versions", key)).Get(ctx, layout.VersionMetadataFields...)
					defer it.Stop()
					for {
						err := it.Next(ctx, &layout.VersionRecord{})
						if err == io.EOF {
							break
						}
						if err != nil {
							return err
						}
					}
					return f.coll.Get(ctx, layout.NewRecord(project, "versions", key),
						"ID", "CreatedAt", "CreatedBy", "UpdatedAt", "UpdatedBy", "RotatedAt", "Version")
				}},
				pairedImpl{Name: "coffer", Run: func(ctx context.Context, i int) error {
					_, err := f.vers.Versions(ctx, f.keys[i%population])
					return err
				}},
				nil,
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
					pairedImpl{Name: "raw", Run: func(ctx context.Context, _ int) error {
						_, err := rawList(ctx, lf, nil)
						return err
					}},
					pairedImpl{Name: "coffer", Run: func(ctx context.Context, _ int) error {
						_, err := lf.m.List(ctx)
						return err
					}},
				)
			})
		}
	})
}
