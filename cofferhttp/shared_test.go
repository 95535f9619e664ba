package cofferhttp

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestReadGroupFreshness checks the promise of shared reads: a request is
// never answered by a read that began before it arrived. A arrives and
// reads (read 1, held open); B and C arrive during read 1 and must get
// read 2, which begins only when read 1 ends; D, arriving after, gets read 3.
func TestReadGroupFreshness(t *testing.T) {
	g := newReadGroup()
	k := readKey{op: "get", env: "production", key: "K", actor: "ci"}
	var reads atomic.Int32
	gates := []chan struct{}{make(chan struct{}), make(chan struct{}), make(chan struct{})}
	started := make(chan int, 3)
	read := func(ctx context.Context) ([]byte, error) {
		n := int(reads.Add(1))
		started <- n
		<-gates[n-1]
		return []byte{byte(n)}, nil
	}
	type result struct {
		v      int // the read that answered
		shared bool
	}
	results := map[string]chan result{"A": make(chan result, 1), "B": make(chan result, 1), "C": make(chan result, 1), "D": make(chan result, 1)}
	call := func(name string) {
		go func() {
			v, shared, err := g.do(context.Background(), k, read)
			if err != nil || len(v) != 1 {
				t.Errorf("%s: %v, %v", name, v, err)
				results[name] <- result{}
				return
			}
			results[name] <- result{int(v[0]), shared}
		}()
	}
	waitJoined := func(n int) { // until n requests wait for the next read
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			g.mu.Lock()
			f := g.next[k]
			joined := f != nil && f.n == n
			g.mu.Unlock()
			if joined {
				return
			}
		}
		t.Fatalf("%d requests never joined the next read", n)
	}

	call("A")
	if n := <-started; n != 1 {
		t.Fatalf("first read is %d", n)
	}
	call("B")
	call("C")
	waitJoined(2)
	select {
	case n := <-started:
		t.Fatalf("read %d began while read 1 was in progress", n)
	case <-time.After(20 * time.Millisecond):
	}
	close(gates[0])
	if got := <-results["A"]; got != (result{1, false}) {
		t.Errorf("A got %+v, want read 1, its own", got)
	}
	if n := <-started; n != 2 {
		t.Fatalf("second read is %d", n)
	}
	close(gates[1])
	got := []result{<-results["B"], <-results["C"]}
	if got[0].v != 2 || got[1].v != 2 || got[0].shared == got[1].shared {
		t.Errorf("B and C got %+v; want read 2, one leading it and one sharing it", got)
	}
	call("D")
	if n := <-started; n != 3 {
		t.Fatalf("third read is %d", n)
	}
	close(gates[2])
	if got := <-results["D"]; got != (result{3, false}) {
		t.Errorf("D got %+v, want read 3, its own", got)
	}
	if len(g.running)+len(g.next) != 0 {
		t.Errorf("the group still holds %d running and %d next reads", len(g.running), len(g.next))
	}
}

// TestReadGroupCancel checks that a waiting request gives up when its
// context ends, while the read it waited for still serves the others, and
// that errors are shared like values.
func TestReadGroupCancel(t *testing.T) {
	g := newReadGroup()
	k := readKey{op: "reveal", key: "K"}
	gate := make(chan struct{})
	started := make(chan struct{}, 2)
	errBoom := errors.New("boom")
	read := func(ctx context.Context) ([]byte, error) {
		started <- struct{}{}
		<-gate
		return nil, errBoom
	}
	first := make(chan error, 1)
	go func() { _, _, err := g.do(context.Background(), k, read); first <- err }()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	waiter := make(chan error, 1)
	go func() { _, _, err := g.do(ctx, k, read); waiter <- err }()
	follower := make(chan error, 1)
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		joined := g.next[k] != nil
		g.mu.Unlock()
		if joined || time.Now().After(deadline) {
			break
		}
	}
	go func() { _, _, err := g.do(context.Background(), k, read); follower <- err }()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		g.mu.Lock()
		joined := g.next[k] != nil && g.next[k].n == 2
		g.mu.Unlock()
		if joined || time.Now().After(deadline) {
			break
		}
	}
	cancel() // the next read's leader is canceled: the read still runs for the follower
	close(gate)
	if err := <-first; !errors.Is(err, errBoom) {
		t.Errorf("first: %v", err)
	}
	if err := <-follower; !errors.Is(err, errBoom) {
		t.Errorf("the follower: %v, want the shared read's error", err)
	}
	<-waiter
}

// TestSharedReadsAudit sends many concurrent reads of one secret by one
// reader and of the listing and the keys by one viewer: each request gets
// the right answer, and each has exactly one audit event — the Manager's
// for the reads it made, the handler's shared_read for the others.
func TestSharedReadsAudit(t *testing.T) {
	f := newFixture(t)
	seedAll(f)
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(3)
		go func() {
			defer wg.Done()
			w := f.serve(request("GET", "/api/secrets/STRIPE_API_KEY/value?env=production", "", reader))
			if w.Code != 200 || !strings.Contains(w.Body.String(), `"value":"sk_live_51H"`) {
				t.Errorf("read %d: %d %s", i, w.Code, w.Body)
			}
		}()
		go func() {
			defer wg.Done()
			w := f.serve(request("GET", "/api/secrets", "", viewer))
			if w.Code != 200 || !strings.Contains(w.Body.String(), `"key":"DATABASE_URL"`) {
				t.Errorf("list %d: %d %s", i, w.Code, w.Body)
			}
		}()
		go func() {
			defer wg.Done()
			w := f.serve(request("GET", "/api/keys", "", viewer))
			if w.Code != 200 || !strings.Contains(w.Body.String(), `"keys":["DATABASE_URL"]`) {
				t.Errorf("keys %d: %d %s", i, w.Code, w.Body)
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, e := range auditEvents(t, f.audit.String()) {
		switch {
		case e["msg"] == "coffer.reveal" && e["actor"] == "ci-deploy":
			count["reveal"]++
		case e["msg"] == "coffer.list" && e["actor"] == "vera":
			count["list"]++
		case e["msg"] == "coffer.keys" && e["actor"] == "vera":
			count["keys"]++
		case e["msg"] == "cofferhttp.shared_read":
			count[e["op"].(string)]++
		}
	}
	if diff := cmp.Diff(map[string]int{"reveal": n, "list": n, "keys": n}, count); diff != "" {
		t.Errorf("audit events per op, the Manager's and shared ones together (-want +got):\n%s", diff)
	}
	t.Logf("shared reads: %d of %d", strings.Count(f.audit.String(), "cofferhttp.shared_read"), 3*n)
}

// TestSharedReadsPerPrincipal checks that two principals never share a
// read: each one's read is audited under its own name.
func TestSharedReadsPerPrincipal(t *testing.T) {
	g := newReadGroup()
	gate := make(chan struct{})
	var reads atomic.Int32
	read := func(ctx context.Context) ([]byte, error) { reads.Add(1); <-gate; return nil, nil }
	var wg sync.WaitGroup
	for _, actor := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, _ = g.do(context.Background(), readKey{op: "get", key: "K", actor: actor}, read)
		}()
	}
	for deadline := time.Now().Add(5 * time.Second); reads.Load() < 2 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
	}
	if got := reads.Load(); got != 2 {
		t.Errorf("%d reads in progress for two principals, want 2", got)
	}
	close(gate)
	wg.Wait()
}
