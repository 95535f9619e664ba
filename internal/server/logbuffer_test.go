package server

import (
	"strings"
	"testing"
	"time"
)

// recordingWriter records each Write it is given.
type recordingWriter struct{ writes chan string }

func (r *recordingWriter) Write(p []byte) (int, error) {
	r.writes <- string(p)
	return len(p), nil
}

// TestLineBuffer checks that lines are written whole, in order, in batches:
// when the buffer would overflow, on the timer, and at Close.
func TestLineBuffer(t *testing.T) {
	w := &recordingWriter{writes: make(chan string, 100)}
	b := newLineBuffer(w)
	line := strings.Repeat("x", 1000) + "\n"
	n := lineBufferSize/len(line) + 1 // one more than fits
	for range n {
		if _, err := b.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
	}
	first := <-w.writes
	if len(first) != (n-1)*len(line) {
		t.Errorf("the overflow wrote %d bytes, want %d whole lines", len(first), n-1)
	}
	select {
	case got := <-w.writes:
		if got != line {
			t.Errorf("the timer wrote %q, want the last line", got)
		}
	case <-time.After(10 * lineBufferFlush):
		t.Error("the timer did not write the last line")
	}
	_, _ = b.Write([]byte("last\n"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-w.writes; got != "last\n" {
		t.Errorf("Close wrote %q", got)
	}
	huge := strings.Repeat("y", lineBufferSize+1)
	b2 := newLineBuffer(w)
	_, _ = b2.Write([]byte(huge))
	if got := <-w.writes; got != huge {
		t.Errorf("a line larger than the buffer was not written through (%d bytes)", len(got))
	}
	_ = b2.Close()
}
