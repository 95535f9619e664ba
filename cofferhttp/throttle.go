package cofferhttp

import (
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Failed authentication is throttled per client address with a token
// bucket: FailedAuthBurst failures in a row are answered 401, then one more
// attempt is allowed every FailedAuthInterval; meanwhile every request of
// that address that presents a token (a bearer token or a sign-in) is
// answered 429 with Retry-After, without its token being looked at. So at
// most FailedAuthBurst + 1 minute / FailedAuthInterval guesses a minute
// reach the token comparison from one address. Session cookies (signed, so
// not guessable) and Options.Authenticate are never throttled, and an
// address that has not failed costs nothing: successful requests are never
// slowed.
const (
	FailedAuthBurst    = 5
	FailedAuthInterval = 12 * time.Second // 5 a minute
)

// maxThrottled bounds the throttle's table; addresses beyond it share one
// bucket, so many addresses cannot grow memory or escape the limit.
const maxThrottled = 1 << 16

// throttle counts failed authentications per client address.
type throttle struct {
	now func() time.Time

	// entries is the table's size, read without the lock: while it is 0 no
	// address is throttled and wait returns at once.
	entries atomic.Int64

	mu      sync.Mutex
	buckets map[string]*bucket
}

// bucket holds an address's remaining attempts, as of at.
type bucket struct {
	tokens float64
	at     time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, buckets: map[string]*bucket{}}
}

// refill adds the attempts earned since b.at and reports whether the bucket
// is full again (the address has no failures left to remember).
func (b *bucket) refill(now time.Time) bool {
	if d := now.Sub(b.at); d > 0 {
		b.tokens += float64(d) / float64(FailedAuthInterval)
		b.at = now
	}
	if b.tokens >= FailedAuthBurst {
		b.tokens = FailedAuthBurst
		return true
	}
	return false
}

// wait returns how long client must wait before its next attempt; 0 when
// it may try now.
func (t *throttle) wait(client string) time.Duration {
	if t.entries.Load() == 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	key := client
	b := t.buckets[key]
	if b == nil {
		if len(t.buckets) < maxThrottled {
			return 0
		}
		key = "" // the shared bucket of the overflow
		if b = t.buckets[key]; b == nil {
			return 0
		}
	}
	if b.refill(t.now()) {
		t.remove(key)
		return 0
	}
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(FailedAuthInterval))
}

// fail records a failed attempt of client. It returns how long the client
// must now wait and whether this failure is the one that started the wait.
func (t *throttle) fail(client string) (time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.buckets[client]
	if b == nil {
		if len(t.buckets) >= maxThrottled {
			t.prune(now)
		}
		if len(t.buckets) >= maxThrottled {
			client = ""
			b = t.buckets[""]
		}
		if b == nil {
			b = &bucket{tokens: FailedAuthBurst, at: now}
			t.buckets[client] = b
			t.entries.Store(int64(len(t.buckets)))
		}
	}
	b.refill(now)
	wasOpen := b.tokens >= 1
	b.tokens--
	if b.tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - b.tokens) * float64(FailedAuthInterval)), wasOpen
}

// prune forgets the addresses whose buckets are full again.
func (t *throttle) prune(now time.Time) {
	for k, b := range t.buckets {
		if b.refill(now) {
			delete(t.buckets, k)
		}
	}
	t.entries.Store(int64(len(t.buckets)))
}

func (t *throttle) remove(client string) {
	delete(t.buckets, client)
	t.entries.Store(int64(len(t.buckets)))
}

// remoteAddr is the default Options.ClientAddress: the connection's IP
// address, and for IPv6 its /64 network (one host usually holds a whole
// /64, so counting single IPv6 addresses would let it pick a fresh one for
// every guess).
func remoteAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		if p, err := ip.Prefix(64); err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// seconds rounds d up to whole seconds, for Retry-After.
func seconds(d time.Duration) int {
	n := int(d / time.Second)
	if time.Duration(n)*time.Second < d {
		n++
	}
	return n
}
