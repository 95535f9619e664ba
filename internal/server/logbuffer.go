package server

import (
	"io"
	"sync"
	"time"
)

// lineBuffer collects whole log lines and writes them in batches: when
// 64 KiB have gathered, every 100 ms, and at Close. The request log goes
// through it, so a busy server makes one write for many requests instead
// of one per request; the audit log does not (each audit event is written
// before the operation returns). slog writes each record with one Write,
// so a batch never splits a line and lines of the two logs never mix.
type lineBuffer struct {
	w    io.Writer
	mu   sync.Mutex
	buf  []byte
	stop chan struct{}
	done chan struct{}
}

const (
	lineBufferSize  = 64 << 10
	lineBufferFlush = 100 * time.Millisecond
)

func newLineBuffer(w io.Writer) *lineBuffer {
	b := &lineBuffer{w: w, buf: make([]byte, 0, lineBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(lineBufferFlush)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				b.flush()
			case <-b.stop:
				b.flush()
				return
			}
		}
	}()
	return b
}

// Write adds one log line (or several whole ones).
func (b *lineBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf)+len(p) > lineBufferSize {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > lineBufferSize {
		return b.w.Write(p)
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

func (b *lineBuffer) flush() {
	b.mu.Lock()
	defer b.mu.Unlock()
	_ = b.flushLocked()
}

func (b *lineBuffer) flushLocked() error {
	if len(b.buf) == 0 {
		return nil
	}
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

// Close writes what is left and stops the timer.
func (b *lineBuffer) Close() error {
	close(b.stop)
	<-b.done
	return nil
}
