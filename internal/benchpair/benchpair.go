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
	run(b, gc, false, first, second)
}

// RunCPU is Run that also reports the median ratio of the CPU time each
// call took on its own thread (cpu-SECOND/FIRST), where the platform tells
// it (Linux). On a machine shared with other work, a call's wall time
// grows with every time slice it waits for, more so the longer the call;
// its CPU time does not. It counts only the calling goroutine's thread:
// use it for forms that do their work there (a query over memdocstore or
// SQLite, decoding), not for forms that hand work to other goroutines or
// processes, whose CPU it does not see.
func RunCPU(b *testing.B, gc bool, first, second Impl) {
	run(b, gc, true, first, second)
}

func run(b *testing.B, gc, cpu bool, first, second Impl) {
	if cpu {
		// The thread's CPU clock is read before and after each call: the
		// goroutine must stay on that thread.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if _, ok := threadCPU(); !ok {
			cpu = false
		}
	}
	ctx := context.Background()
	impls := [2]Impl{first, second}
	var totals, took, cpuTook [2]time.Duration
	var ratios, cpuRatios []float64
	i := 0
	for b.Loop() {
		for j := range impls {
			k := (i + j) % 2
			if gc {
				b.StopTimer()
				runtime.GC()
				b.StartTimer()
			}
			var cpuStart time.Duration
			if cpu {
				cpuStart, _ = threadCPU()
			}
			start := time.Now()
			if err := impls[k].Run(ctx, i); err != nil {
				b.Fatalf("%s: %v", impls[k].Name, err)
			}
			took[k] = time.Since(start)
			if cpu {
				cpuEnd, _ := threadCPU()
				cpuTook[k] = cpuEnd - cpuStart
			}
			totals[k] += took[k]
		}
		ratios = append(ratios, float64(took[1])/float64(took[0]))
		if cpu && cpuTook[0] > 0 {
			cpuRatios = append(cpuRatios, float64(cpuTook[1])/float64(cpuTook[0]))
		}
		i++
	}
	for k, im := range impls {
		b.ReportMetric(float64(totals[k].Nanoseconds())/float64(i), "ns/"+im.Name)
	}
	b.ReportMetric(Quantile(ratios, 0.5), second.Name+"/"+first.Name)
	if cpu {
		b.ReportMetric(Quantile(cpuRatios, 0.5), "cpu-"+second.Name+"/"+first.Name)
	}
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
