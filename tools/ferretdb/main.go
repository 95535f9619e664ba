// Command ferretdb runs FerretDB on loopback for coffer's integration tests.
//
// FerretDB speaks the MongoDB wire protocol over SQLite or PostgreSQL, which
// lets the mongodocstore backend be tested against a real server on a machine
// where MongoDB itself cannot be installed. It lives in its own module so that
// importers of coffer never download FerretDB's large dependency tree.
//
// Usage:
//
//	ferretdb -listen 127.0.0.1:27018 -handler sqlite -sqlite-dir DIR
//	ferretdb -listen 127.0.0.1:27019 -handler postgresql -postgresql-url URL
//
// It prints the server's MongoDB URI on standard output once it listens, and
// shuts down cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "127.0.0.1:27018", "TCP address to listen on")
	handler := flag.String("handler", "sqlite", "storage backend: sqlite or postgresql")
	sqliteDir := flag.String("sqlite-dir", "", "directory for the SQLite handler's databases")
	pgURL := flag.String("postgresql-url", "", "PostgreSQL URL for the postgresql handler")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	flag.Parse()
	if flag.NArg() != 0 {
		return fmt.Errorf("unexpected arguments: %q", flag.Args())
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}

	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: *listen},
		Handler:  *handler,
		// FerretDB logs every connection at info level; tests only need
		// to see what went wrong.
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	switch *handler {
	case "sqlite":
		if *sqliteDir == "" {
			return errors.New("-handler sqlite needs -sqlite-dir")
		}
		dir, err := filepath.Abs(*sqliteDir)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		// FerretDB wants a directory URI that ends in a slash.
		cfg.SQLiteURL = "file:" + dir + "/"
	case "postgresql":
		if *pgURL == "" {
			return errors.New("-handler postgresql needs -postgresql-url")
		}
		cfg.PostgreSQLURL = *pgURL
	default:
		return fmt.Errorf("-handler must be sqlite or postgresql, not %q", *handler)
	}

	f, err := ferretdb.New(cfg)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// MongoDBURI waits until the listener is bound, so the URI is printed
	// only once clients can connect.
	fmt.Println(f.MongoDBURI())

	// Run returns after ctx is cancelled and every connection and the
	// backend are closed.
	return <-done
}
