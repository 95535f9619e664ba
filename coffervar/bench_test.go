package coffervar

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"gocloud.dev/docstore"
	"gocloud.dev/runtimevar"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/coffertest"
	"github.com/coffer-go/coffer/internal/benchpair"
	"github.com/coffer-go/coffer/internal/layout"
)

// benchEngines are the stores the benchmarks run on: local ones, so the
// figures are coffervar's cost and not a network's.
var benchEngines = []engine{engines[0], engines[1]}

// benchManager returns a Manager (uncounted, so the figures hold no
// wrapper's cost) over coll with a random key.
func benchManager(b *testing.B, coll *docstore.Collection) *coffer.Manager {
	keeper := coffertest.RandomKeeper(b)
	m, err := coffer.New(coll, keeper, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = m.Close()
		_ = keeper.Close()
	})
	return m
}

// BenchmarkPoll pairs one idle poll (the secret unchanged: the watcher's
// metadata read through Manager.Get and its comparison) with the floor
// under it, a raw docstore Get of the same record projected to the same
// fields, call by call (see benchpair.Run). The figure to read is the
// poll/raw metric.
func BenchmarkPoll(b *testing.B) {
	for _, e := range benchEngines {
		b.Run("store="+e.name, func(b *testing.B) {
			ctx := context.Background()
			coll := e.open(b)
			m := benchManager(b, coll)
			if _, err := m.Create(ctx, coffer.NewSecret{Key: key, Value: "postgres://app:password@db:5432/shop"}); err != nil {
				b.Fatal(err)
			}
			w, err := newWatcher(m, key, runtimevar.StringDecoder, nil)
			if err != nil {
				b.Fatal(err)
			}
			cur, _ := w.WatchVariable(ctx, nil)
			if _, err := cur.Value(); err != nil {
				b.Fatal(err)
			}
			benchpair.Run(b, false,
				benchpair.Impl{Name: "raw", Run: func(ctx context.Context, _ int) error {
					return coll.Get(ctx, layout.NewRecord(coffer.DefaultName, coffer.DefaultName, key), layout.MetadataFields...)
				}},
				benchpair.Impl{Name: "poll", Run: func(ctx context.Context, _ int) error {
					if st, _ := w.WatchVariable(ctx, cur); st != nil {
						return errors.New("an idle poll reported a change")
					}
					return nil
				}},
			)
		})
	}
}

// BenchmarkPropagation measures how long a rotation takes to reach a
// program: a Variable polling every 100 ms watches a secret in a SQLite
// file, and another Manager on that file (as another process would)
// rotates it, at a random moment of the poll cycle. Each iteration is one
// rotation; the metrics are quantiles of the delay, from the moment the
// rotating Update returned to the moment Watch returned the new value, and
// the mean polls it took (at most 1 plus the poll in flight).
func BenchmarkPropagation(b *testing.B) {
	const wait = 100 * time.Millisecond
	b.Run(fmt.Sprintf("store=sqlite/wait=%v", wait), func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		path := filepath.ToSlash(filepath.Join(b.TempDir(), "coffer.db"))
		open := func() *docstore.Collection {
			coll, err := backend.OpenCollection(ctx, "sqlite://"+path)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = coll.Close() })
			return coll
		}
		keeper := coffertest.RandomKeeper(b)
		defer keeper.Close()
		writer, err := coffer.New(open(), keeper, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer writer.Close()
		reader, err := coffer.New(open(), keeper, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer reader.Close()
		if _, err := writer.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "v0"}); err != nil {
			b.Fatal(err)
		}
		w, err := newWatcher(reader, "DATABASE_URL", runtimevar.StringDecoder, &Options{WaitDuration: wait})
		if err != nil {
			b.Fatal(err)
		}
		pc := &pollCounter{inner: w}
		v := runtimevar.New(pc)
		defer v.Close()
		if _, err := v.Watch(ctx); err != nil {
			b.Fatal(err)
		}

		var delays []float64 // milliseconds
		var polls int64
		n := 0
		for b.Loop() {
			n++
			time.Sleep(rand.N(wait))
			want := fmt.Sprintf("v%d", n)
			if _, err := writer.Update(ctx, "DATABASE_URL", coffer.Change{Value: coffer.Value(want)}); err != nil {
				b.Fatal(err)
			}
			written, started := time.Now(), pc.polls.Load()
			snap, err := v.Watch(ctx)
			if err != nil {
				b.Fatal(err)
			}
			delays = append(delays, float64(time.Since(written))/float64(time.Millisecond))
			if snap.Value != want {
				b.Fatalf("Watch: %q, want %q", snap.Value, want)
			}
			var by pollNumber
			snap.As(&by)
			polls += int64(by) - started
		}
		for _, q := range []struct {
			name string
			q    float64
		}{{"min", 0}, {"p10", 0.1}, {"p25", 0.25}, {"p50", 0.5}, {"p75", 0.75}, {"p90", 0.9}, {"p99", 0.99}, {"max", 1}} {
			b.ReportMetric(benchpair.Quantile(delays, q.q), q.name+"-ms")
		}
		b.ReportMetric(float64(polls)/float64(n), "polls/change")
	})
}
