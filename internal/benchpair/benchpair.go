// Package benchpair runs two forms of one operation back to back in each
// iteration of a benchmark and reports the median ratio of their times:
// the figure least disturbed by other load on a shared machine, since a
// burst of load hits both calls of a pair alike.
package benchpair

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"
)

// Impl is one form of an operation, run once per call with the iteration
// number i.
type Impl struct {
	Name string
	Run  func(ctx context.Context, i int) error
}

// Run runs first and second in every iteration of b, alternating which goes
// first, and reports each form's mean time (ns/NAME) and the median over
// iterations of the second's time divided by the first's (SECOND/FIRST).
// Only two forms share a loop, so each follows the other equally often.
// With gc set, garbage is collected (untimed) before each call, so a call
// that allocates a lot does not leave its collection to the next. ns/op is
// the time of both forms together.
func Run(b *testing.B, gc bool, first, second Impl) {
	ctx := context.Background()
	impls := [2]Impl{first, second}
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
			if err := impls[k].Run(ctx, i); err != nil {
				b.Fatalf("%s: %v", impls[k].Name, err)
			}
			took[k] = time.Since(start)
			totals[k] += took[k]
		}
		ratios = append(ratios, float64(took[1])/float64(took[0]))
		i++
	}
	for k, im := range impls {
		b.ReportMetric(float64(totals[k].Nanoseconds())/float64(i), "ns/"+im.Name)
	}
	b.ReportMetric(Quantile(ratios, 0.5), second.Name+"/"+first.Name)
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of xs by linear
// interpolation between the nearest ranks, without changing xs; 0 for none.
func Quantile(xs []float64, q float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(pos)
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (pos-float64(lo))*(s[lo+1]-s[lo])
}
