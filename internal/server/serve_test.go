package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestServeDrains checks the stop: a request in flight when ctx ends is
// answered in full, a new connection is refused, and Serve returns nil.
func TestServeDrains(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, h, slog.New(slog.DiscardHandler)) }()

	url := "http://" + ln.Addr().String() + "/"
	answered := make(chan string, 1)
	go func() {
		resp, err := http.Get(url)
		if err != nil {
			answered <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- string(b)
	}()
	<-entered
	cancel()
	// The listener closes before Serve waits for the request.
	for {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		conn.Close()
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a request in flight", err)
	default:
	}
	close(release)
	if got := <-answered; got != "finished" {
		t.Errorf("the request in flight got %q, want its whole answer", got)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v, want nil after draining", err)
	}
}

// TestServeCutsOff checks that a request that does not finish within the
// timeout makes Serve return an error instead of waiting for ever.
func TestServeCutsOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done() // until the connection is cut
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, h, slog.New(slog.DiscardHandler), 50*time.Millisecond) }()
	go func() {
		if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-entered
	cancel()
	if err := <-served; err == nil || !strings.Contains(err.Error(), "requests still running") {
		t.Errorf("Serve = %v, want the cut-off error", err)
	}
}

// TestServeListenerError checks that Serve returns when its listener fails.
func TestServeListenerError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	if err := Serve(context.Background(), ln, http.NotFoundHandler(), slog.New(slog.DiscardHandler)); err == nil {
		t.Error("Serve on a closed listener returned nil")
	}
}

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "0.0.0.0:8080": false, "192.0.2.7:80": false} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := Loopback(a); got != want {
			t.Errorf("Loopback(%s) = %v, want %v", addr, got, want)
		}
	}
}

// TestLogs checks that both logs write JSON lines marked with their log,
// the audit events at once and the request lines by Close at the latest.
func TestLogs(t *testing.T) {
	pr, pw := io.Pipe()
	lines := make(chan map[string]any, 10)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				m = map[string]any{"unparsable": sc.Text()}
			}
			lines <- m
		}
		close(lines)
	}()
	logs := NewLogs(pw)
	logs.Audit.Info("reveal", "key", "K")
	got := <-lines // written before Close: the audit log is not batched
	delete(got, "time")
	if diff := cmp.Diff(map[string]any{"level": "INFO", "msg": "reveal", "log": "audit", "key": "K"}, got); diff != "" {
		t.Errorf("audit line (-want +got):\n%s", diff)
	}
	logs.Requests.Info("request", "status", 200)
	if err := logs.Close(); err != nil {
		t.Fatal(err)
	}
	if err := logs.Close(); err != nil { // a deferred Close after the first
		t.Fatal(err)
	}
	pw.Close()
	got = <-lines
	delete(got, "time")
	if diff := cmp.Diff(map[string]any{"level": "INFO", "msg": "request", "log": "http", "status": 200.0}, got); diff != "" {
		t.Errorf("request line (-want +got):\n%s", diff)
	}
}
