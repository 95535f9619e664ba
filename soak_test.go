package coffer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/docstore"
	"gocloud.dev/docstore/memdocstore"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/backend"
	"github.com/coffer-go/coffer/backend/backendtest"
	"github.com/coffer-go/coffer/backend/claims"
	"github.com/coffer-go/coffer/coffertest"
)

// The soak test's knobs. COFFER_SOAK_SEED replays a run's operation
// sequences; COFFER_SOAK_DURATION (a Go duration) runs longer than the
// default, which keeps the normal test run short.
const (
	soakSeedEnv     = "COFFER_SOAK_SEED"
	soakDurationEnv = "COFFER_SOAK_DURATION"
	soakWorkers     = 4
	soakManagers    = 3
	soakCounterKey  = "SHARED_COUNTER"
)

var (
	soakProjects     = []string{"default", "billing"}
	soakEnvironments = []string{"development", "production"}
	soakOps          = []string{"create", "update-value", "update-description", "update-both", "delete", "reveal", "get", "list", "rotate", "counter"}
	// soakWeights: how often each of soakOps is drawn. Rotation is rare, as
	// in life: each one adds a data key every Manager then loads.
	soakWeights = []int{10, 6, 4, 4, 6, 12, 6, 6, 1, 6}
)

// soakPlace is a project and environment.
type soakPlace struct{ project, environment string }

// modelSecret is what the model expects of one secret.
type modelSecret struct {
	value, description string
	typ                coffer.Type
	version            int
}

// TestSoak is a model-based soak test. Workers run random Create, Update,
// Delete, Reveal, Get, List and RotateDataKey calls at once, across projects
// and environments, each call through one of several Managers (separate
// keyrings in memory) sharing one collection, and compare every answer with
// a plain in-memory model. Each worker owns its keys, so its model is exact
// whatever the others do; all workers also contend on one shared secret,
// whose Version must count every successful value change (no lost update).
// At the end every Manager must see exactly the union of the models, and the
// store must hold no value in clear.
//
// Every worker's sequence follows from the printed seed; set
// COFFER_SOAK_SEED to replay it and COFFER_SOAK_DURATION to run longer.
func TestSoak(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv(soakSeedEnv); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("%s=%q: %v", soakSeedEnv, s, err)
		}
	}
	duration := 2 * time.Second
	if testing.Short() {
		duration = 300 * time.Millisecond
	}
	if s := os.Getenv(soakDurationEnv); s != "" {
		var err error
		if duration, err = time.ParseDuration(s); err != nil {
			t.Fatalf("%s=%q: %v", soakDurationEnv, s, err)
		}
	}
	t.Logf("seed %d, %v (replay with %s=%d)", seed, duration, soakSeedEnv, seed)

	// The same run on memdocstore, then through backend/claims, which must
	// keep every promise of the store it wraps.
	t.Run("memdocstore", func(t *testing.T) {
		coll, err := backend.OpenMemCollection()
		if err != nil {
			t.Fatal(err)
		}
		runSoak(t, coll, seed, duration)
	})
	t.Run("claims", func(t *testing.T) {
		docs, err := backend.OpenMemCollection()
		if err != nil {
			t.Fatal(err)
		}
		cc, err := memdocstore.OpenCollection(claims.IDField, nil)
		if err != nil {
			t.Fatal(err)
		}
		coll, err := claims.Wrap(docs, cc, backend.IDField, nil)
		if err != nil {
			t.Fatal(err)
		}
		runSoak(t, coll, seed, duration)
	})
}

// runSoak runs the soak on coll, which it closes.
func runSoak(t *testing.T, coll *docstore.Collection, seed uint64, duration time.Duration) {
	defer coll.Close()
	keeper := coffertest.RandomKeeper(t)
	defer keeper.Close()
	// managers[i][place] is root Manager i's Manager for place.
	managers := make([]map[soakPlace]*coffer.Manager, soakManagers)
	for i := range managers {
		root, err := coffer.New(coll, keeper, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		managers[i] = map[soakPlace]*coffer.Manager{}
		for _, p := range soakProjects {
			pm, err := root.Project(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range soakEnvironments {
				if managers[i][soakPlace{p, e}], err = pm.Environment(e); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	counterPlace := soakPlace{"default", "production"}
	ctx := context.Background()
	mustCreate(t, managers[0][counterPlace], soakCounterKey, canary+"-counter")

	var (
		wg        sync.WaitGroup
		failed    atomic.Bool
		counterOK atomic.Int64
		counts    [soakWorkers]map[string]int
		models    [soakWorkers]map[soakPlace]map[string]modelSecret
	)
	deadline := time.Now().Add(duration)
	for w := range soakWorkers {
		counts[w] = map[string]int{}
		models[w] = map[soakPlace]map[string]modelSecret{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &soakWorker{
				t: t, id: w, rng: rand.New(rand.NewPCG(seed, uint64(w))), managers: managers,
				model: models[w], counts: counts[w], counterOK: &counterOK, counterPlace: counterPlace,
			}
			for !failed.Load() && time.Now().Before(deadline) {
				if err := s.step(ctx); err != nil {
					failed.Store(true)
					t.Errorf("worker %d, operation %d (seed %d): %v", w, s.n, seed, err)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() {
		return
	}

	// Every Manager sees exactly the union of the models.
	for i, byPlace := range managers {
		for place, m := range byPlace {
			want := map[string]modelSecret{}
			for w := range soakWorkers {
				for k, s := range models[w][place] {
					want[k] = s
				}
			}
			list, err := m.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]modelSecret{}
			for _, s := range list {
				if s.Key == soakCounterKey {
					if s.Version != 1+int(counterOK.Load()) {
						t.Errorf("shared secret at version %d after %d successful value changes: an update was lost", s.Version, counterOK.Load())
					}
					continue
				}
				v, err := m.Reveal(ctx, s.Key)
				if err != nil {
					t.Fatalf("manager %d %v: Reveal(%s): %v", i, place, s.Key, err)
				}
				got[s.Key] = modelSecret{value: string(v), description: s.Description, typ: s.Type, version: s.Version}
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(modelSecret{})); diff != "" {
				t.Errorf("manager %d %v: store and model differ (-model +store):\n%s", i, place, diff)
			}
		}
	}
	backendtest.NoPlaintext(t, coll, canaryCore)
	total := map[string]int{}
	all := 0
	for w := range soakWorkers {
		for op, n := range counts[w] {
			total[op] += n
			all += n
		}
	}
	var parts []string
	for _, op := range soakOps {
		parts = append(parts, fmt.Sprintf("%s %d", op, total[op]))
	}
	t.Logf("%d operations by %d workers through %d Managers (%s); shared secret changed %d times; seed %d",
		all, soakWorkers, soakManagers, strings.Join(parts, ", "), counterOK.Load(), seed)
}

// soakWorker runs one worker's random operations against its own model.
type soakWorker struct {
	t            *testing.T
	id           int
	rng          *rand.Rand
	managers     []map[soakPlace]*coffer.Manager
	model        map[soakPlace]map[string]modelSecret
	counts       map[string]int
	counterOK    *atomic.Int64
	counterPlace soakPlace
	n            int
}

var soakSuffixes = []string{"", "_TOKEN", "_URL", "_PASSWORD", "_API_KEY"}

func (s *soakWorker) pick(list []string) string { return list[s.rng.IntN(len(list))] }

func (s *soakWorker) weighted() string {
	total := 0
	for _, w := range soakWeights {
		total += w
	}
	n := s.rng.IntN(total)
	for i, w := range soakWeights {
		if n < w {
			return soakOps[i]
		}
		n -= w
	}
	panic("unreachable")
}

// value returns a fresh random value: mostly short, sometimes multi-byte
// text, now and then a few KiB; always carrying the canary.
func (s *soakWorker) value() string {
	var b strings.Builder
	b.WriteString(canary)
	n := s.rng.IntN(40)
	if s.rng.IntN(20) == 0 {
		n = 4096 + s.rng.IntN(4096)
	}
	for range n {
		if s.rng.IntN(10) == 0 {
			b.WriteRune(rune(0x400 + s.rng.IntN(0x100)))
		} else {
			b.WriteByte(byte(' ' + s.rng.IntN(95)))
		}
	}
	return b.String()
}

func (s *soakWorker) step(ctx context.Context) error {
	s.n++
	op := s.weighted()
	s.counts[op]++
	place := soakPlace{s.pick(soakProjects), s.pick(soakEnvironments)}
	m := s.managers[s.rng.IntN(len(s.managers))][place]
	key := fmt.Sprintf("W%d_K%d%s", s.id, s.rng.IntN(4), soakSuffixes[s.rng.IntN(len(soakSuffixes))])
	if s.model[place] == nil {
		s.model[place] = map[string]modelSecret{}
	}
	model := s.model[place]
	cur, exists := model[key]
	missing := func(err error) error {
		if !errors.Is(err, coffer.ErrNotFound) {
			return fmt.Errorf("%s %v %s: %v, want ErrNotFound", op, place, key, err)
		}
		return nil
	}
	checkMeta := func(got coffer.Secret, want modelSecret) error {
		w := coffer.Secret{Key: key, Project: place.project, Environment: place.environment,
			Description: want.description, Type: want.typ, Version: want.version}
		g := got
		g.CreatedAt, g.UpdatedAt, g.RotatedAt, g.CreatedBy, g.UpdatedBy = time.Time{}, time.Time{}, time.Time{}, "", ""
		if diff := cmp.Diff(w, g); diff != "" {
			return fmt.Errorf("%s %v %s: metadata (-model +got):\n%s", op, place, key, diff)
		}
		return nil
	}
	switch op {
	case "create":
		ns := coffer.NewSecret{Key: key, Value: coffer.Value(s.value()), Description: fmt.Sprintf("d%d", s.n)}
		if s.rng.IntN(3) == 0 {
			ns.Type = "custom_type"
		}
		got, err := m.Create(ctx, ns)
		if exists {
			if !errors.Is(err, coffer.ErrAlreadyExists) {
				return fmt.Errorf("create of a taken key %v %s: %v", place, key, err)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("create %v %s: %v", place, key, err)
		}
		typ := ns.Type
		if typ == "" {
			typ = coffer.InferType(key)
		}
		model[key] = modelSecret{value: string(ns.Value), description: ns.Description, typ: typ, version: 1}
		return checkMeta(got, model[key])
	case "update-value", "update-description", "update-both":
		var c coffer.Change
		if op != "update-description" {
			c.Value = coffer.Value(s.value())
		}
		if op != "update-value" {
			d := fmt.Sprintf("d%d", s.rng.IntN(3)) // repeats, so "no changes" happens
			c.Description = &d
		}
		got, err := m.Update(ctx, key, c)
		switch {
		case !exists:
			return missing(err)
		case c.Value == "" && *c.Description == cur.description:
			if !errors.Is(err, coffer.ErrNoChanges) {
				return fmt.Errorf("%s %v %s with nothing new: %v, want ErrNoChanges", op, place, key, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("%s %v %s: %v", op, place, key, err)
		}
		if c.Value != "" {
			cur.value = string(c.Value)
			cur.version++
		}
		if c.Description != nil {
			cur.description = *c.Description
		}
		model[key] = cur
		return checkMeta(got, cur)
	case "delete":
		err := m.Delete(ctx, key)
		if !exists {
			return missing(err)
		}
		if err != nil {
			return fmt.Errorf("delete %v %s: %v", place, key, err)
		}
		delete(model, key)
		return nil
	case "reveal":
		v, err := m.Reveal(ctx, key)
		if !exists {
			return missing(err)
		}
		if err != nil || string(v) != cur.value {
			return fmt.Errorf("reveal %v %s: %v (value equal: %v)", place, key, err, string(v) == cur.value)
		}
		return nil
	case "get":
		got, err := m.Get(ctx, key)
		if !exists {
			return missing(err)
		}
		if err != nil {
			return fmt.Errorf("get %v %s: %v", place, key, err)
		}
		return checkMeta(got, cur)
	case "list":
		list, err := m.List(ctx)
		if err != nil {
			return fmt.Errorf("list %v: %v", place, err)
		}
		if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i].Key < list[j].Key }) {
			return fmt.Errorf("list %v is not sorted by key", place)
		}
		mine := fmt.Sprintf("W%d_", s.id)
		got := map[string]int{}
		for _, sec := range list {
			if strings.HasPrefix(sec.Key, mine) {
				got[sec.Key] = sec.Version
			}
		}
		want := map[string]int{}
		for k, sec := range model {
			want[k] = sec.version
		}
		if diff := cmp.Diff(want, got); diff != "" {
			return fmt.Errorf("list %v: this worker's keys and versions (-model +got):\n%s", place, diff)
		}
		return nil
	case "rotate":
		if err := m.RotateDataKey(ctx); err != nil {
			return fmt.Errorf("rotate: %v", err)
		}
		return nil
	case "counter":
		cm := s.managers[s.rng.IntN(len(s.managers))][s.counterPlace]
		_, err := cm.Update(ctx, soakCounterKey, coffer.Change{Value: coffer.Value(s.value())})
		switch {
		case err == nil:
			s.counterOK.Add(1)
		case errors.Is(err, coffer.ErrConflict):
			// Every retry lost a race: nothing was written, as the model
			// assumes. Rare with memdocstore.
		default:
			return fmt.Errorf("update of the shared secret: %v", err)
		}
		return nil
	}
	return fmt.Errorf("unknown operation %q", op)
}
