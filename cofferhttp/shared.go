package cofferhttp

import (
	"context"
	"log/slog"
	"sync"

	"github.com/coffer-go/coffer"
)

// Shared reads. When many requests of one principal read the same thing at
// once (a fleet of instances starting together, a dashboard polled by many
// tabs), the handler reads the store once for all of them — but never
// answers a request with a read that started before the request arrived:
// requests that come while a read is in progress wait for the next read,
// which starts as soon as the current one ends and serves every request that
// came in the meantime. So every answer reflects every change that completed
// before its request arrived, as if the request had read alone, and the
// store sees at most one read in progress plus one waiting, per thing read
// and principal, however many requests come.
//
// The Manager audits the read it makes (with the principal as actor); every
// other request it served is audited by the handler as a shared read
// ("cofferhttp.shared_read" with the op, environment and key), so each
// request still has exactly one audit event.

// readKey names what a read reads and for whom.
type readKey struct {
	op, env, key, actor string
}

// flight is one store read and the requests waiting for it.
type flight struct {
	done  chan struct{}
	value []byte
	err   error
	n     int // requests served, the leader included
}

// readGroup is the set of reads in progress or waiting, per readKey.
type readGroup struct {
	mu      sync.Mutex
	running map[readKey]*flight
	next    map[readKey]*flight
}

func newReadGroup() *readGroup {
	return &readGroup{running: map[readKey]*flight{}, next: map[readKey]*flight{}}
}

// do returns read's result for k, running read itself or sharing a read
// that starts after this call began. shared reports whether another request
// ran the read. read runs with a context that is not canceled when this
// request's is (others may wait for it) but keeps its values (the actor).
func (g *readGroup) do(ctx context.Context, k readKey, read func(context.Context) ([]byte, error)) (v []byte, shared bool, err error) {
	g.mu.Lock()
	if g.running[k] == nil {
		// Nothing in progress: read now.
		f := &flight{done: make(chan struct{}), n: 1}
		g.running[k] = f
		g.mu.Unlock()
		g.run(ctx, k, f, read)
		return f.value, false, f.err
	}
	// A read is in progress, begun before this request: wait for the next.
	f := g.next[k]
	leader := f == nil
	if leader {
		f = &flight{done: make(chan struct{})}
		g.next[k] = f
	}
	f.n++
	current := g.running[k]
	g.mu.Unlock()

	if !leader {
		select {
		case <-f.done:
			return f.value, true, f.err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
	// This request leads the next read: it starts when the current one
	// ends. Even if this request is canceled meanwhile, others may wait for
	// the read, so it runs anyway.
	<-current.done
	g.mu.Lock()
	delete(g.next, k)
	g.running[k] = f
	g.mu.Unlock()
	g.run(ctx, k, f, read)
	return f.value, false, f.err
}

// run makes the read of f and ends the flight.
func (g *readGroup) run(ctx context.Context, k readKey, f *flight, read func(context.Context) ([]byte, error)) {
	defer func() {
		g.mu.Lock()
		if g.running[k] == f {
			delete(g.running, k)
		}
		g.mu.Unlock()
		close(f.done)
	}()
	f.value, f.err = read(context.WithoutCancel(ctx))
}

// sharedRead runs read through the handler's read group and audits a
// request served by another's read. read returns the answer's body, so the
// requests it serves share the encoding too; nobody may modify it.
func (h *handler) sharedRead(ctx context.Context, p *principal, op, env, key string, read func(context.Context) ([]byte, error)) ([]byte, error) {
	v, shared, err := h.reads.do(ctx, readKey{op: op, env: env, key: key, actor: p.Name}, read)
	if shared {
		attrs := []slog.Attr{slog.String("op", op), slog.String("environment", env)}
		if key != "" {
			attrs = append(attrs, slog.String("key", key))
		}
		outcome := "ok"
		if err != nil {
			outcome = coffer.ErrorCode(err)
		}
		attrs = append(attrs, slog.String("actor", p.Name), slog.String("outcome", outcome))
		h.audit(ctx, slog.LevelInfo, "shared_read", attrs...)
	}
	return v, err
}
