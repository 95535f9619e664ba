package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRun runs the example as `go run ./examples/rotation` does, with a
// short poll: the service connects, then each rotation reaches it as a
// reconnection with the new version, and no password is ever printed.
func TestRun(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, 20*time.Millisecond, 2); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, &out)
	}
	got := out.String()
	for _, want := range []string{
		"service: connected to postgres://shop:xxxxx@db.internal:5432/shop (version 1)\n",
		"admin:   rotated DATABASE_URL to version 2\n",
		"service: reconnected to postgres://shop:xxxxx@db.internal:5432/shop (version 2)\n",
		"admin:   version 2 reached the service ",
		"admin:   rotated DATABASE_URL to version 3\n",
		"service: reconnected to postgres://shop:xxxxx@db.internal:5432/shop (version 3)\n",
		"admin:   version 3 reached the service ",
		"every rotation reached the service, from version 1 to 3, without a restart\n",
	} {
		i := strings.Index(got, want)
		if i < 0 {
			t.Fatalf("the output does not say %q (in this order):\n%s", want, out.String())
		}
		got = got[i+len(want):]
	}
	if strings.Contains(out.String(), "unavailable") {
		t.Errorf("the service lost DATABASE_URL:\n%s", out.String())
	}
	// Every connection string printed has its password masked.
	urls := regexp.MustCompile(`postgres://\S*`).FindAllString(out.String(), -1)
	for _, u := range urls {
		if !strings.HasPrefix(u, "postgres://shop:xxxxx@") {
			t.Errorf("printed %q: the password shows", u)
		}
	}
	if len(urls) != 3 {
		t.Errorf("printed %d connection strings; want 3:\n%s", len(urls), out.String())
	}
}
