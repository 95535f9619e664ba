package benchpair

import (
	"context"
	"runtime"
	"strconv"
	"testing"
)

func TestQuantile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tt := range []struct{ q, want float64 }{
		{0, 1}, {0.5, 3}, {1, 5}, {0.25, 2}, {0.1, 1.4},
	} {
		if got := Quantile(xs, tt.q); got != tt.want {
			t.Errorf("Quantile(%v, %v) = %v, want %v", xs, tt.q, got, tt.want)
		}
	}
	if got := Quantile([]float64{1, 2}, 0.5); got != 1.5 {
		t.Errorf("median of 1, 2 = %v, want 1.5", got)
	}
	if got := Quantile(nil, 0.5); got != 0 {
		t.Errorf("Quantile(nil) = %v, want 0", got)
	}
	if xs[0] != 5 {
		t.Error("Quantile sorted its argument")
	}
}

// TestRunCPU: RunCPU reports the wall and, on Linux, the CPU ratio of its
// two forms; Run only the wall ratio.
func TestRunCPU(t *testing.T) {
	spin := func(n int) Impl {
		return Impl{Name: "spin" + strconv.Itoa(n), Run: func(context.Context, int) error {
			x := 0
			for i := range n * 10000 {
				x += i
			}
			sink = x
			return nil
		}}
	}
	for name, tt := range map[string]struct {
		run     func(*testing.B, bool, Impl, Impl)
		wantCPU bool
	}{
		"Run":    {Run, false},
		"RunCPU": {RunCPU, runtime.GOOS == "linux"},
	} {
		res := testing.Benchmark(func(b *testing.B) { tt.run(b, false, spin(1), spin(2)) })
		if _, ok := res.Extra["spin2/spin1"]; !ok {
			t.Errorf("%s reported %v, no spin2/spin1", name, res.Extra)
		}
		if got, ok := res.Extra["cpu-spin2/spin1"]; ok != tt.wantCPU || ok && got <= 0 {
			t.Errorf("%s reported cpu-spin2/spin1 = %v (%v); want it %v", name, got, ok, tt.wantCPU)
		}
	}
}

var sink int
