package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ShutdownTimeout is how long Serve lets the requests in flight finish once
// it is told to stop.
const ShutdownTimeout = 5 * time.Second

// Serve serves h on ln until ctx is done; then it stops accepting
// connections, lets the requests in flight finish for up to
// ShutdownTimeout, and returns nil when they did. It returns early with the
// listener's error. net/http's own complaints go to errorLog.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, errorLog *slog.Logger) error {
	return serve(ctx, ln, h, errorLog, ShutdownTimeout)
}

func serve(ctx context.Context, ln net.Listener, h http.Handler, errorLog *slog.Logger, timeout time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(errorLog.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("requests still running %s after the stop: cut off", timeout)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Loopback reports whether addr is a loopback address: only this machine
// can connect to it.
func Loopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}
