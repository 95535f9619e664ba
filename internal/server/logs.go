package server

import (
	"io"
	"log/slog"
	"sync"
)

// Logs are a server's logs, JSON lines on one writer: audit events written
// as they happen, request lines in batches.
type Logs struct {
	// Audit is for the Manager's and the handler's audit events
	// (coffer.Options.AuditLog, cofferhttp.Options.AuditLog): "log":"audit".
	Audit *slog.Logger
	// Requests is for the handler's line per request (cofferhttp.Options.Log):
	// "log":"http", batched.
	Requests *slog.Logger
	// HTTP is for net/http's own complaints (http.Server.ErrorLog): "log":"http".
	HTTP *slog.Logger

	buf   *lineBuffer
	close sync.Once
}

// NewLogs returns the logs written to w. Close them to write the last
// request lines.
func NewLogs(w io.Writer) *Logs {
	w = &syncWriter{w: w}
	logger := slog.New(slog.NewJSONHandler(w, nil))
	buf := newLineBuffer(w)
	return &Logs{
		Audit:    logger.With("log", "audit"),
		Requests: slog.New(slog.NewJSONHandler(buf, nil)).With("log", "http"),
		HTTP:     logger.With("log", "http"),
		buf:      buf,
	}
}

// Close writes the request lines still buffered. Later calls do nothing.
func (l *Logs) Close() error {
	var err error
	l.close.Do(func() { err = l.buf.Close() })
	return err
}

// syncWriter serializes the writes of the logs' handlers, which lock only
// themselves: a line of one never lands inside a line of another, whatever
// w is.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
