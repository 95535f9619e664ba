package benchpair

import "testing"

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
