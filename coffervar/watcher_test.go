package coffervar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore/driver"
	"gocloud.dev/gcerrors"
	"gocloud.dev/runtimevar"
	rvdriver "gocloud.dev/runtimevar/driver"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/faults"
)

const key = "DATABASE_URL"

// poll runs one poll of w and returns what it found, checking that it asks
// for the configured wait.
func poll(t *testing.T, w *watcher, prev rvdriver.State) rvdriver.State {
	t.Helper()
	st, wait := w.WatchVariable(context.Background(), prev)
	if wait != w.wait {
		t.Fatalf("WatchVariable asked to wait %v, want the WaitDuration %v", wait, w.wait)
	}
	if st == nil {
		return nil // a nil *state in an interface would not compare to nil
	}
	return st
}

// wantValue checks that st holds value, set at rotated.
func wantValue(t *testing.T, st rvdriver.State, value string, rotated time.Time) {
	t.Helper()
	if st == nil {
		t.Fatalf("poll found no change; want value %q", value)
	}
	got, err := st.Value()
	if err != nil {
		t.Fatalf("poll: %v; want value %q", err, value)
	}
	if got != value {
		t.Fatalf("poll: value %q, want %q", got, value)
	}
	if !st.UpdateTime().Equal(rotated) {
		t.Errorf("UpdateTime %v, want RotatedAt %v", st.UpdateTime(), rotated)
	}
}

// costs returns what fn cost in store and keeper calls.
func costs(f *fixture, fn func()) (store, keeper int) {
	s0, k0 := f.calls()
	fn()
	s1, k1 := f.calls()
	return s1 - s0, k1 - k0
}

// TestPollCosts: on every engine, a poll of an unchanged secret is one
// store read and no keeper call, and so is a poll after a description edit;
// a new value is opened at the next poll, for three store reads (metadata,
// value, metadata again) and no keeper call, and its snapshot says when the
// value was set. Only the first poll of a Manager that never opened a value
// calls the keeper: once, to unwrap the data key.
func TestPollCosts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		f := newFixture(t, e)
		admin := f.writer(t)
		ctx := context.Background()
		created, err := admin.Create(ctx, coffer.NewSecret{Key: key, Value: "postgres://app:one@db/shop"})
		if err != nil {
			t.Fatal(err)
		}
		w, err := newWatcher(f.m, key, runtimevar.StringDecoder, &Options{WaitDuration: time.Hour})
		if err != nil {
			t.Fatal(err)
		}

		var st rvdriver.State
		store, keeper := costs(f, func() { st = poll(t, w, nil) })
		wantValue(t, st, "postgres://app:one@db/shop", created.RotatedAt)
		if store != 4 || keeper != 1 {
			t.Errorf("first poll: %d store calls, %d keeper calls; want 4 (metadata, keyring, value, metadata) and 1 (the data key)", store, keeper)
		}

		for i := range 5 {
			store, keeper := costs(f, func() {
				if got := poll(t, w, st); got != nil {
					t.Fatalf("idle poll %d reported a change: %v", i, got)
				}
			})
			if store != 1 || keeper != 0 {
				t.Errorf("idle poll %d: %d store calls, %d keeper calls; want 1 and 0", i, store, keeper)
			}
		}

		f.clock.Advance(time.Second)
		desc := "primary database"
		if _, err := admin.Update(ctx, key, coffer.Change{Description: &desc}); err != nil {
			t.Fatal(err)
		}
		store, keeper = costs(f, func() {
			if got := poll(t, w, st); got != nil {
				t.Fatalf("a description edit made a new snapshot: %v", got)
			}
		})
		if store != 1 || keeper != 0 {
			t.Errorf("poll after a description edit: %d store calls, %d keeper calls; want 1 and 0", store, keeper)
		}

		rotatedAt := f.clock.Advance(time.Second)
		rotated, err := admin.Update(ctx, key, coffer.Change{Value: "postgres://app:two@db/shop"})
		if err != nil {
			t.Fatal(err)
		}
		if !rotated.RotatedAt.Equal(rotatedAt) {
			t.Fatalf("Update's RotatedAt %v, want the clock's %v", rotated.RotatedAt, rotatedAt)
		}
		store, keeper = costs(f, func() { st = poll(t, w, st) })
		wantValue(t, st, "postgres://app:two@db/shop", rotatedAt)
		if store != 3 || keeper != 0 {
			t.Errorf("poll after a rotation: %d store calls, %d keeper calls; want 3 and 0", store, keeper)
		}
		var got coffer.Secret
		if !st.As(&got) {
			t.Fatal("Snapshot.As(*coffer.Secret) = false")
		}
		if diff := cmp.Diff(rotated, got); diff != "" {
			t.Errorf("Snapshot.As(*coffer.Secret) (-want +got):\n%s", diff)
		}
	})
}

// TestChangeReachesWatcherAtNextPoll: on every engine, through a real
// runtimevar.Variable, a change is delivered by the first poll that starts
// after the change was made (counting polls, not time): so it reaches the
// program within one WaitDuration plus one poll.
func TestChangeReachesWatcherAtNextPoll(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		f := newFixture(t, e)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: "v1"}); err != nil {
			t.Fatal(err)
		}
		w, err := newWatcher(f.m, key, runtimevar.StringDecoder, &Options{WaitDuration: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		pc := &pollCounter{inner: w}
		v := runtimevar.New(pc)
		defer v.Close()
		if snap, err := v.Watch(ctx); err != nil || snap.Value != "v1" {
			t.Fatalf("first Watch: %v, %v; want v1", snap.Value, err)
		}
		for i := 2; i <= 4; i++ {
			want := fmt.Sprintf("v%d", i)
			f.clock.Advance(time.Second)
			if _, err := f.m.Update(ctx, key, coffer.Change{Value: coffer.Value(want)}); err != nil {
				t.Fatal(err)
			}
			// Every poll numbered above started is after the change.
			started := pc.polls.Load()
			snap, err := v.Watch(ctx)
			if err != nil {
				t.Fatalf("Watch after update to %s: %v", want, err)
			}
			if snap.Value != want {
				t.Fatalf("Watch: %q, want %q", snap.Value, want)
			}
			var by pollNumber
			if !snap.As(&by) {
				t.Fatal("the snapshot does not say which poll delivered it")
			}
			if int64(by) > started+1 {
				t.Errorf("%s was delivered by poll %d; polls up to %d had started when it was written, so poll %d should have delivered it", want, by, started, started+1)
			}
		}
	})
}

// pollCounter numbers the polls of a watcher and labels each state with
// the poll that found it.
type pollCounter struct {
	inner *watcher
	polls atomic.Int64
}

type pollNumber int64

type numberedState struct {
	rvdriver.State
	poll int64
}

func (s *numberedState) As(i any) bool {
	if p, ok := i.(*pollNumber); ok {
		*p = pollNumber(s.poll)
		return true
	}
	return s.State.As(i)
}

func (p *pollCounter) WatchVariable(ctx context.Context, prev rvdriver.State) (rvdriver.State, time.Duration) {
	n := p.polls.Add(1)
	if ns, ok := prev.(*numberedState); ok {
		prev = ns.State
	}
	st, wait := p.inner.WatchVariable(ctx, prev)
	if st == nil {
		return nil, wait
	}
	return &numberedState{State: st, poll: n}, wait
}

func (p *pollCounter) Close() error                           { return p.inner.Close() }
func (p *pollCounter) ErrorAs(err error, i any) bool          { return p.inner.ErrorAs(err, i) }
func (p *pollCounter) ErrorCode(err error) gcerrors.ErrorCode { return p.inner.ErrorCode(err) }

// TestDeleteAndRecreate: on every engine, a deleted secret is a NotFound
// error (once, not at every poll), and once created again its new value
// flows; a delete and re-create between two polls, which restarts Version
// at 1, is still a new value.
func TestDeleteAndRecreate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, e engine) {
		f := newFixture(t, e)
		ctx := context.Background()
		if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: "first"}); err != nil {
			t.Fatal(err)
		}
		w, err := newWatcher(f.m, key, runtimevar.StringDecoder, nil)
		if err != nil {
			t.Fatal(err)
		}
		st := poll(t, w, nil)
		wantValue(t, st, "first", f.clock.Now())

		if err := f.m.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		gone := poll(t, w, st)
		if gone == nil {
			t.Fatal("poll after Delete found no change")
		}
		if _, err := gone.Value(); !errors.Is(err, coffer.ErrNotFound) || w.ErrorCode(err) != gcerrors.NotFound {
			t.Fatalf("poll after Delete: %v (code %v); want coffer.ErrNotFound, code NotFound", err, w.ErrorCode(err))
		}
		if again := poll(t, w, gone); again != nil {
			t.Errorf("a second poll of the deleted secret reported %v; want no change", again)
		}

		created := f.clock.Advance(time.Second)
		if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: "second"}); err != nil {
			t.Fatal(err)
		}
		st = poll(t, w, gone)
		wantValue(t, st, "second", created)

		// Deleted and created again between two polls: Version is 1 again.
		if err := f.m.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		created = f.clock.Advance(time.Second)
		if sec, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: "third"}); err != nil || sec.Version != 1 {
			t.Fatalf("Create: %+v, %v; want version 1", sec, err)
		}
		wantValue(t, poll(t, w, st), "third", created)
	})
}

// TestValueChangedWhileOpened: a rotation between a poll's metadata read
// and its value read does not give the snapshot the wrong UpdateTime: the
// poll reads the metadata again and reports the value with its own.
func TestValueChangedWhileOpened(t *testing.T) {
	raw := openMem(t)
	drv, err := faults.DriverOf(raw)
	if err != nil {
		t.Fatal(err)
	}
	hooked := &hookCollection{Collection: drv}
	f := newFixtureOn(t, raw, hooked)
	// A second Manager on the raw collection and the same key writes
	// without passing through the hook.
	writer, err := coffer.New(raw, f.inner, &coffer.Options{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	ctx := context.Background()
	if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	w, err := newWatcher(f.m, key, runtimevar.StringDecoder, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := poll(t, w, nil)
	wantValue(t, st, "v1", f.clock.Now())

	f.clock.Advance(time.Second)
	if _, err := writer.Update(ctx, key, coffer.Change{Value: "v2"}); err != nil {
		t.Fatal(err)
	}
	// The poll's first read sees v2; before its value read, v3 is written.
	var rotated time.Time
	hooked.beforeGet(2, func() {
		rotated = f.clock.Advance(time.Second)
		if _, err := writer.Update(ctx, key, coffer.Change{Value: "v3"}); err != nil {
			t.Error(err)
		}
	})
	wantValue(t, poll(t, w, st), "v3", rotated)
}

// hookCollection runs a function before the nth Get it is asked for.
type hookCollection struct {
	driver.Collection
	gets atomic.Int64
	n    int64
	hook func()
}

func (h *hookCollection) beforeGet(n int64, hook func()) {
	h.gets.Store(0)
	h.n, h.hook = n, hook
}

func (h *hookCollection) RunActions(ctx context.Context, actions []*driver.Action, opts *driver.RunActionsOptions) driver.ActionListError {
	if len(actions) == 1 && actions[0].Kind == driver.Get && h.hook != nil && h.gets.Add(1) == h.n {
		hook := h.hook
		h.hook = nil
		hook()
	}
	return h.Collection.RunActions(ctx, actions, opts)
}

// TestErrorsHoldNoValue: a value the decoder rejects is an ErrDecode error
// (FailedPrecondition) that holds neither the value nor the decoder's
// message, which quotes it; a second bad value is the same condition, not a
// new error, and is not opened again at every poll.
func TestErrorsHoldNoValue(t *testing.T) {
	const canary = "canary-7f3a9c1e5b"
	f := newFixture(t, engines[0])
	ctx := context.Background()
	if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: `{"ok":true}`}); err != nil {
		t.Fatal(err)
	}
	quoting := runtimevar.NewDecoder(map[string]any{}, func(ctx context.Context, b []byte, obj any) error {
		if err := runtimevar.JSONDecode(ctx, b, obj); err != nil {
			return fmt.Errorf("cannot decode %q: %w", b, err)
		}
		return nil
	})
	w, err := newWatcher(f.m, key, quoting, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := poll(t, w, nil)
	if _, err := st.Value(); err != nil {
		t.Fatal(err)
	}

	if _, err := f.m.Update(ctx, key, coffer.Change{Value: canary + "-1"}); err != nil {
		t.Fatal(err)
	}
	bad := poll(t, w, st)
	if bad == nil {
		t.Fatal("poll after a bad value found no change")
	}
	val, err := bad.Value()
	if val != nil || !errors.Is(err, ErrDecode) || w.ErrorCode(err) != gcerrors.FailedPrecondition {
		t.Fatalf("poll after a bad value: %v, %v (code %v); want nil, ErrDecode, FailedPrecondition", val, err, w.ErrorCode(err))
	}
	if strings.Contains(err.Error(), "canary") {
		t.Errorf("the error shows the value: %v", err)
	}
	if !strings.Contains(err.Error(), key) {
		t.Errorf("the error %q does not name the key", err)
	}

	if _, err := f.m.Update(ctx, key, coffer.Change{Value: canary + "-2"}); err != nil {
		t.Fatal(err)
	}
	if again := poll(t, w, bad); again != nil {
		t.Fatalf("a second bad value made a new error; want the condition reported once")
	}
	store, _ := costs(f, func() {
		if again := poll(t, w, bad); again != nil {
			t.Fatalf("idle poll of a bad value reported %v", again)
		}
	})
	if store != 1 {
		t.Errorf("idle poll of a bad value: %d store calls; want 1 (the bad value is not opened again)", store)
	}

	if _, err := f.m.Update(ctx, key, coffer.Change{Value: `{"ok":false}`}); err != nil {
		t.Fatal(err)
	}
	good := poll(t, w, bad)
	if good == nil {
		t.Fatal("a good value after a bad one was not reported")
	}
	if got, err := good.Value(); err != nil || !cmp.Equal(got, map[string]any{"ok": false}) {
		t.Fatalf("good value after a bad one: %v, %v", got, err)
	}
}

// TestWatchErrors: through a Variable, a missing secret is NotFound,
// matching coffer.ErrNotFound with errors.Is and reachable with ErrorAs; a
// closed Manager is FailedPrecondition and coffer.ErrClosed.
func TestWatchErrors(t *testing.T) {
	f := newFixture(t, engines[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := f.m.Create(ctx, coffer.NewSecret{Key: key, Value: "v"}); err != nil {
		t.Fatal(err)
	}
	v, err := OpenVariable(f.m, "database_url", runtimevar.StringDecoder, &Options{WaitDuration: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	_, err = v.Watch(ctx)
	if gcerrors.Code(err) != gcerrors.NotFound || !errors.Is(err, coffer.ErrNotFound) {
		t.Fatalf("Watch of a missing secret: %v (code %v); want NotFound and coffer.ErrNotFound", err, gcerrors.Code(err))
	}
	var cerr error
	if !v.ErrorAs(err, &cerr) || !errors.Is(cerr, coffer.ErrNotFound) || !strings.Contains(cerr.Error(), "did you mean DATABASE_URL?") {
		t.Errorf("ErrorAs(*error) gave %v; want coffer's ErrNotFound with its suggestion", cerr)
	}
	var notAnError string
	if v.ErrorAs(err, &notAnError) {
		t.Error("ErrorAs(*string) = true")
	}

	if err := f.m.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = v.Watch(ctx)
	if gcerrors.Code(err) != gcerrors.FailedPrecondition || !errors.Is(err, coffer.ErrClosed) {
		t.Fatalf("Watch after the Manager closed: %v (code %v); want FailedPrecondition and coffer.ErrClosed", err, gcerrors.Code(err))
	}
}

// TestOpenVariableArguments: bad arguments are refused at once, each with
// its own error.
func TestOpenVariableArguments(t *testing.T) {
	f := newFixture(t, engines[0])
	for _, tt := range []struct {
		name    string
		m       *coffer.Manager
		key     string
		decoder *runtimevar.Decoder
		opts    *Options
		want    error
	}{
		{"no manager", nil, key, runtimevar.StringDecoder, nil, coffer.ErrInvalidOptions},
		{"no decoder", f.m, key, nil, nil, coffer.ErrInvalidOptions},
		{"empty key", f.m, "", runtimevar.StringDecoder, nil, coffer.ErrKeyRequired},
		{"bad key", f.m, "DATABASE-URL", runtimevar.StringDecoder, nil, coffer.ErrInvalidKey},
		{"negative wait", f.m, key, runtimevar.StringDecoder, &Options{WaitDuration: -time.Second}, coffer.ErrInvalidOptions},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := OpenVariable(tt.m, tt.key, tt.decoder, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Errorf("OpenVariable: %v; want %v", err, tt.want)
			}
			if v != nil {
				v.Close()
				t.Error("OpenVariable returned a Variable with its error")
			}
		})
	}
	w, err := newWatcher(f.m, key, runtimevar.StringDecoder, nil)
	if err != nil || w.wait != DefaultWaitDuration {
		t.Errorf("nil Options: wait %v, %v; want %v", w.wait, err, DefaultWaitDuration)
	}
}
