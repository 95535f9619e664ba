package cofferhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestVersionsAndRollback walks a secret's history through the API: the
// versions newest first, a restore that makes an earlier value a new
// version, and the refusals (the current version, an unknown one, a body
// without a version).
func TestVersionsAndRollback(t *testing.T) {
	f := newFixture(t)
	seedAll(f)
	for _, body := range []string{`{"value":"postgres://v2"}`, `{"description":"no new version"}`, `{"value":"postgres://v3"}`} {
		if w := f.serve(request("PATCH", "/api/secrets/DATABASE_URL", body, editor)); w.Code != 200 {
			t.Fatalf("update %s: %d %s", body, w.Code, w.Body)
		}
	}
	ts := fixedNow.Format(time.RFC3339Nano)
	version := func(n int, by string, current bool) obj {
		return obj{"version": json.Number(itoa(n)), "created_at": ts, "created_by": by, "current": current}
	}
	w := f.serve(request("GET", "/api/secrets/DATABASE_URL/versions", "", viewer))
	want := obj{"versions": arr{version(3, "ed", true), version(2, "ed", false), version(1, "seed", false)}}
	if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != 200 || diff != "" {
		t.Errorf("versions: %d (-want +got):\n%s", w.Code, diff)
	}

	w = f.serve(request("POST", "/api/secrets/DATABASE_URL/rollback", `{"version":1}`, editor))
	if diff := cmp.Diff(any(secretObj("development", "DATABASE_URL", "no new version", "connection_string", "seed", "ed", 4)), decode(t, w.Body.Bytes())); w.Code != 200 || diff != "" {
		t.Errorf("rollback: %d (-want +got):\n%s", w.Code, diff)
	}
	if v, err := f.env("development").Reveal(context.Background(), "DATABASE_URL"); err != nil || v != "postgres://dev-db/app" {
		t.Errorf("after restoring version 1 the value is not version 1's (err %v)", err)
	}
	if !containsEvent(t, f.audit.String(), "coffer.rollback", "ed") {
		t.Errorf("the rollback is not audited by ed:\n%s", f.audit)
	}

	before := f.state()
	for _, tt := range []struct {
		name, body string
		status     int
		want       any
	}{
		{"the current version", `{"version":4}`, 422, errorBody(problem("", "no_changes", `No changes to save: version 4 is the current version of "DATABASE_URL" in project "default", environment "development"`))},
		{"an unknown version", `{"version":9}`, 404, errorBody(problem("key", "not_found", `Secret not found: "DATABASE_URL" in project "default", environment "development" has no version 9`))},
		{"no version", `{}`, 404, errorBody(problem("key", "not_found", `Secret not found: "DATABASE_URL" in project "default", environment "development" has no version 0`))},
		{"a string version", `{"version":"1"}`, 400, obj{"code": "invalid_json", "message": `Field "version" must be a whole number`, "errors": arr{problem("version", "invalid_json", "Must be a whole number")}}},
		{"an unknown field", `{"version":1,"value":"x"}`, 400, errorBody(problem("", "unknown_field", `The request body has a field this endpoint does not take; it takes "version"`))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := f.serve(request("POST", "/api/secrets/DATABASE_URL/rollback", tt.body, editor))
			if diff := cmp.Diff(tt.want, decode(t, w.Body.Bytes())); w.Code != tt.status || diff != "" {
				t.Errorf("status %d, want %d; body (-want +got):\n%s", w.Code, tt.status, diff)
			}
		})
	}
	if diff := cmp.Diff(before, f.state()); diff != "" {
		t.Errorf("a refused rollback changed the store:\n%s", diff)
	}
	if w := f.serve(request("GET", "/api/secrets/NOPE/versions", "", viewer)); w.Code != 404 {
		t.Errorf("versions of a missing key: %d, want 404", w.Code)
	}
	if w := f.serve(request("GET", "/api/secrets/DATABASE_URL/rollback", "", editor)); w.Code != 405 || w.Header().Get("Allow") != "POST" {
		t.Errorf("GET rollback: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

func containsEvent(t *testing.T, log, msg, actor string) bool {
	for _, e := range auditEvents(t, log) {
		if e["msg"] == msg && e["actor"] == actor {
			return true
		}
	}
	return false
}

// TestIfVersion checks PATCH's check-and-set: a change made to the version
// the client saw applies; a stale one is 409 conflict and changes nothing;
// of N concurrent edits of one version exactly one wins.
func TestIfVersion(t *testing.T) {
	f := newFixture(t)
	seedAll(f)
	if w := f.serve(request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"v2","if_version":1}`, editor)); w.Code != 200 {
		t.Fatalf("an edit of the current version: %d %s", w.Code, w.Body)
	}
	before := f.state()
	w := f.serve(request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"stale","if_version":1}`, editor))
	want := errorBody(problem("", "conflict", `Secret was changed concurrently; try again: "DATABASE_URL" in project "default", environment "development" is at version 2, not 1`))
	if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != http.StatusConflict || diff != "" {
		t.Errorf("a stale edit: %d (-want +got):\n%s", w.Code, diff)
	}
	w = f.serve(request("PATCH", "/api/secrets/DATABASE_URL", `{"description":"x","if_version":-1}`, editor))
	want = errorBody(problem("if_version", "invalid_options", "Invalid options: IfVersion is -1; use 0 for none or the version the change was made to"))
	if diff := cmp.Diff(any(want), decode(t, w.Body.Bytes())); w.Code != 422 || diff != "" {
		t.Errorf("a negative if_version: %d (-want +got):\n%s", w.Code, diff)
	}
	if diff := cmp.Diff(before, f.state()); diff != "" {
		t.Errorf("a refused edit changed the store:\n%s", diff)
	}

	const n = 8
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = f.serve(request("PATCH", "/api/secrets/DATABASE_URL", `{"value":"racer-`+itoa(i)+`","if_version":2}`, editor)).Code
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if diff := cmp.Diff(map[int]int{200: 1, 409: n - 1}, count); diff != "" {
		t.Errorf("statuses of %d racing edits of version 2 (-want +got):\n%s", n, diff)
	}
	if s, err := f.env("development").Get(context.Background(), "DATABASE_URL"); err != nil || s.Version != 3 {
		t.Errorf("after the race: version %d, %v; want 3", s.Version, err)
	}

}
