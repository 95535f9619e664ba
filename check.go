package coffer

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gocloud.dev/docstore"

	"github.com/coffer-go/coffer/internal/layout"
)

// FindingKind names one of the Secrets page's best practices that a secret
// breaks. The values are stable: the command line prints them and the HTTP
// API returns them.
type FindingKind string

// The kinds of finding Check reports.
const (
	// FindingNotRotated: the current value was set longer ago than
	// CheckOptions.MaxAge.
	FindingNotRotated FindingKind = "not_rotated"
	// FindingNoDescription: the secret has no description.
	FindingNoDescription FindingKind = "no_description"
	// FindingNaming: the key is not UPPERCASE_WITH_UNDERSCORES (it holds a
	// lower-case letter).
	FindingNaming FindingKind = "naming"
	// FindingMissing: another checked environment has the key and this one
	// does not.
	FindingMissing FindingKind = "missing_in_environment"
	// FindingSharedValue: another checked environment holds the same value
	// under the same key.
	FindingSharedValue FindingKind = "shared_value"
	// FindingWeakValue: a password, token, api_key, encryption_key or
	// credential whose value is short, common or of plainly low variety.
	FindingWeakValue FindingKind = "weak_value"
	// FindingSimilarKey: another key of the same environment differs only in
	// case or underscores, the usual reason a "secret is not working".
	FindingSimilarKey FindingKind = "similar_key"
)

// findingKinds are the kinds, in the order Check runs them.
var findingKinds = []FindingKind{
	FindingNotRotated, FindingNoDescription, FindingNaming, FindingSimilarKey,
	FindingMissing, FindingSharedValue, FindingWeakValue,
}

// Finding is one best practice one secret breaks. Message says what is wrong
// and what to do, in words a person acts on ("rotated 134 days ago; the
// limit is 90 days: set a new value"); it never holds a value.
type Finding struct {
	Kind        FindingKind
	Environment string
	Key         string
	Message     string
}

// CheckOptions say what Check looks at. The zero value (or nil) checks the
// Manager's own environment for every kind, with the 90-day rotation limit.
type CheckOptions struct {
	// Environments of the project to check and compare; nil or empty: the
	// Manager's own only. Exactly these are read: the Manager's own
	// environment is not added unless listed, so a caller (the page, a token
	// limited to some environments) decides what is read. Duplicates count
	// once; an invalid name is an ErrInvalidName.
	Environments []string
	// MaxAge: a value set longer ago than this is not_rotated; 0 means 90
	// days (DefaultMaxAge). Negative is an ErrInvalidOptions.
	MaxAge time.Duration
	// Kinds limits the check to these kinds; nil or empty: every kind. Only
	// weak_value and shared_value read values: without them Check reads no
	// sealed value and makes no keeper call. An unknown kind is an
	// ErrInvalidOptions.
	Kinds []FindingKind
}

// DefaultMaxAge is the rotation limit when CheckOptions.MaxAge is 0.
const DefaultMaxAge = 90 * 24 * time.Hour

// weakTypes are the types whose values Check judges for strength: those a
// person or a program chose, where a weak value is a risk. Connection
// strings and generic settings are left alone.
var weakTypes = map[string]bool{
	string(TypePassword): true, string(TypeToken): true, string(TypeAPIKey): true,
	string(TypeEncryptionKey): true, string(TypeCredential): true,
}

// The projections of Check's listing: the metadata its checks read, with
// the envelope only when a value check runs.
var (
	checkFields       = []docstore.FieldPath{"Key", "Description", "Type", "CreatedAt", "RotatedAt"}
	checkSealedFields = []docstore.FieldPath{"Key", "Description", "Type", "CreatedAt", "RotatedAt", "Sealed"}
)

// Check reports which of the Secrets page's best practices the secrets of
// the Manager's project break, in the environments opts names: values not
// rotated within MaxAge, missing descriptions, keys that are not
// UPPERCASE_WITH_UNDERSCORES, keys of one environment that differ only in
// case or underscores, keys missing from some of the environments, the same
// value under the same key in two environments, and weak passwords, tokens,
// API keys, encryption keys and credentials. Findings are sorted by
// Environment, Key and Kind; an empty report is an empty slice.
//
// Check makes one listing per environment. Values are opened only for the
// checks that need them (weak_value: the types above; shared_value: every
// secret, when two or more environments are checked), one at a time, and
// compared through a keyed hash whose key lives only for the call: no value
// is stored, logged, returned or held beyond its own record, so memory grows
// with the number of keys, not with the size of the values. Once the
// Manager's keyring is loaded Check makes no keeper call.
//
// A value that cannot be opened ends the check with an error naming its key
// (matching ErrDecrypt), as Environ does. The audit event (op "check") holds
// the environments checked and the number of findings of each kind.
func (m *Manager) Check(ctx context.Context, opts *CheckOptions) (findings []Finding, err error) {
	var plan checkPlan
	defer func() {
		var extra []slog.Attr
		if err == nil {
			extra = plan.auditAttrs(findings)
		}
		m.audit(ctx, "check", "", err, extra...)
	}()
	if err := m.check(ctx); err != nil {
		return nil, err
	}
	plan, err = m.planCheck(opts)
	if err != nil {
		return nil, err
	}
	c := &checker{plan: plan, now: m.now(), findings: []Finding{}}
	if plan.shared {
		// Fresh seeds per call: the digests compare values within this
		// call and mean nothing after it.
		c.seeds = &[2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}
	}
	c.present = make([]map[string]digest, len(plan.envs))
	for i, em := range plan.envs {
		if err := em.check(ctx); err != nil {
			return nil, err
		}
		if err := c.scanEnvironment(ctx, i, em); err != nil {
			return nil, err
		}
	}
	c.compareEnvironments()
	slices.SortFunc(c.findings, func(a, b Finding) int {
		if n := strings.Compare(a.Environment, b.Environment); n != 0 {
			return n
		}
		if n := strings.Compare(a.Key, b.Key); n != 0 {
			return n
		}
		return strings.Compare(string(a.Kind), string(b.Kind))
	})
	return c.findings, nil
}

// checkPlan is a resolved CheckOptions.
type checkPlan struct {
	envs   []*Manager // one per environment, sorted by name
	maxAge time.Duration
	kinds  map[FindingKind]bool
	weak   bool // weak_value runs: values of weakTypes are opened
	shared bool // shared_value runs over two or more environments: every value is opened
}

// planCheck checks opts, reporting every problem at once.
func (m *Manager) planCheck(opts *CheckOptions) (checkPlan, error) {
	var o CheckOptions
	if opts != nil {
		o = *opts
	}
	var p problems
	plan := checkPlan{maxAge: o.MaxAge, kinds: map[FindingKind]bool{}}
	switch {
	case o.MaxAge == 0:
		plan.maxAge = DefaultMaxAge
	case o.MaxAge < 0:
		p.add(fmt.Errorf("%w: CheckOptions.MaxAge is %v; use 0 for 90 days or a positive limit", ErrInvalidOptions, o.MaxAge))
	}
	if len(o.Kinds) == 0 {
		o.Kinds = findingKinds
	}
	for _, k := range o.Kinds {
		if !slices.Contains(findingKinds, k) {
			p.add(fmt.Errorf("%w: CheckOptions.Kinds holds unknown kind %q", ErrInvalidOptions, string(k)))
			continue
		}
		plan.kinds[k] = true
	}
	names := slices.Clone(o.Environments)
	if len(names) == 0 {
		names = []string{m.opts.Environment}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, name := range names {
		em, err := m.Environment(name)
		if err != nil {
			p.add(err)
			continue
		}
		plan.envs = append(plan.envs, em)
	}
	if err := p.result(); err != nil {
		return checkPlan{}, err
	}
	plan.weak = plan.kinds[FindingWeakValue]
	plan.shared = plan.kinds[FindingSharedValue] && len(plan.envs) > 1
	return plan, nil
}

// auditAttrs are the audit event's account of a finished check.
func (plan checkPlan) auditAttrs(findings []Finding) []slog.Attr {
	envs := make([]string, len(plan.envs))
	for i, em := range plan.envs {
		envs[i] = em.opts.Environment
	}
	counts := map[FindingKind]int{}
	for _, f := range findings {
		counts[f.Kind]++
	}
	var byKind []any
	for _, k := range findingKinds {
		if plan.kinds[k] {
			byKind = append(byKind, slog.Int(string(k), counts[k]))
		}
	}
	return []slog.Attr{
		slog.String("environments", strings.Join(envs, ",")),
		slog.Int("findings", len(findings)),
		slog.Group("counts", byKind...),
	}
}

// digest is a value's keyed hash: two values of one call are taken as
// equal when their digests are. It is the value's two maphash sums under
// seeds drawn for the call (hash/maphash is keyed by its seed and runs
// on AES instructions, several times cheaper than HMAC-SHA256 here). A
// digest never leaves the call, so the hash needs no resistance to an
// adversary who sees it; a false match needs both 64-bit sums of two
// different values to collide under seeds they did not know.
type digest [16]byte

// checker is the state of one Check: the findings so far and, per
// environment, each key with its value's digest.
type checker struct {
	plan     checkPlan
	now      time.Time
	seeds    *[2]maphash.Seed // nil unless shared_value runs
	present  []map[string]digest
	findings []Finding
}

func (c *checker) add(kind FindingKind, env, key, msg string) {
	if c.plan.kinds[kind] {
		c.findings = append(c.findings, Finding{Kind: kind, Environment: env, Key: key, Message: msg})
	}
}

// scanEnvironment runs the one listing of environment i and every check
// that needs only that environment.
func (c *checker) scanEnvironment(ctx context.Context, i int, em *Manager) error {
	env := em.opts.Environment
	hint := 0 // environments of a project hold about the same keys
	if i > 0 {
		hint = len(c.present[i-1])
	}
	keys := make(map[string]digest, hint)
	// Keys are grouped by fold(key), looked up by its hash so that no
	// fold is built for a key unlike every other: first holds, per hash,
	// the first key with it; a fold that meets another fold's hash is kept
	// whole in collided.
	first := make(map[uint64]string, hint)
	collided := map[string]string{}  // fold(key) -> the first key of that fold, for folds whose hash was taken
	similar := map[string][]string{} // fold(key) -> its keys in key order, for folds of two keys or more
	seed := maphash.MakeSeed()
	fields := checkFields
	if c.plan.weak || c.plan.shared {
		fields = checkSealedFields
	}
	err := em.scan(ctx, fields, func(rec *layout.Record) error {
		var d digest
		typ := rec.Type
		if typ == "" {
			typ = string(InferType(rec.Key))
		}
		weak := c.plan.weak && weakTypes[typ]
		if weak || c.plan.shared {
			plain, err := em.shared.keyring.Open(ctx, em.place(rec.Key, rec.CreatedAt), rec.Sealed)
			if err != nil {
				return fmt.Errorf("secret %q in %s: %w", rec.Key, em.where(), keyringError(err))
			}
			if weak {
				if msg := weakness(plain); msg != "" {
					c.add(FindingWeakValue, env, rec.Key, msg)
				}
			}
			if c.shared() {
				binary.LittleEndian.PutUint64(d[:8], maphash.Bytes(c.seeds[0], plain))
				binary.LittleEndian.PutUint64(d[8:], maphash.Bytes(c.seeds[1], plain))
			}
			clear(plain)
		}
		keys[rec.Key] = d
		c.metadata(env, rec)
		h := foldHashFunc(seed, rec.Key)
		k, ok := first[h]
		if !ok {
			first[h] = rec.Key
			return nil
		}
		f := fold(rec.Key)
		if fold(k) != f { // another fold with the same hash
			if k, ok = collided[f]; !ok {
				collided[f] = rec.Key
				return nil
			}
		}
		if group := similar[f]; group == nil {
			similar[f] = []string{k, rec.Key}
		} else {
			similar[f] = append(group, rec.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, group := range similar {
		for _, key := range group {
			others := slices.DeleteFunc(slices.Clone(group), func(k string) bool { return k == key })
			c.add(FindingSimilarKey, env, key, fmt.Sprintf(
				"differs from %s only in case or underscores; a program asking for one does not get the other: keep one and delete the rest",
				strings.Join(others, ", ")))
		}
	}
	c.present[i] = keys
	return nil
}

// foldHashFunc is foldHash; tests make every hash collide through it.
var foldHashFunc = foldHash

// foldHash is the hash of fold(key) under seed, computed without building
// the fold for keys of up to 256 ASCII bytes (every valid key).
func foldHash(seed maphash.Seed, key string) uint64 {
	var buf [256]byte
	n := 0
	for i := 0; i < len(key); i++ {
		b := key[i]
		if b >= 0x80 || n == len(buf) {
			return maphash.String(seed, fold(key))
		}
		if b == '_' {
			continue
		}
		if b >= 'a' && b <= 'z' {
			b -= 'a' - 'A'
		}
		buf[n] = b
		n++
	}
	return maphash.Bytes(seed, buf[:n])
}

func (c *checker) shared() bool { return c.seeds != nil }

// metadata runs the checks that read one record's metadata.
func (c *checker) metadata(env string, rec *layout.Record) {
	if c.plan.kinds[FindingNotRotated] {
		if msg := c.rotation(rec); msg != "" {
			c.add(FindingNotRotated, env, rec.Key, msg)
		}
	}
	if strings.TrimSpace(rec.Description) == "" {
		c.add(FindingNoDescription, env, rec.Key, "no description: say what it is for and who uses it")
	}
	if !conventionalKey(rec.Key) {
		msg := "not UPPERCASE_WITH_UNDERSCORES"
		if upper := strings.ToUpper(rec.Key); validateKey(upper, true) == nil {
			msg += fmt.Sprintf("; keys cannot be renamed: create %s with the same value, move its users to it, then delete %s", upper, rec.Key)
		}
		c.add(FindingNaming, env, rec.Key, msg)
	}
}

// rotation returns the not_rotated message for rec, or "".
func (c *checker) rotation(rec *layout.Record) string {
	set := rec.RotatedAt
	if set.IsZero() {
		set = rec.CreatedAt // a record written without RotatedAt: its value dates from creation
	}
	if set.IsZero() {
		return "no record of when its value was set: set a new value"
	}
	age := c.now.Sub(set)
	if age <= c.plan.maxAge {
		return ""
	}
	ago, limit := durations(age, c.plan.maxAge)
	if set.Equal(rec.CreatedAt) { // every value change moves RotatedAt
		return fmt.Sprintf("set %s ago and never rotated; the limit is %s: set a new value", ago, limit)
	}
	return fmt.Sprintf("rotated %s ago; the limit is %s: set a new value", ago, limit)
}

// durations writes an age and a limit in the limit's unit: days when the
// limit is whole days, hours when it is whole hours, else as Go writes a
// duration.
func durations(age, limit time.Duration) (string, string) {
	unit := func(d, u time.Duration, name string) string {
		n := int64(d / u)
		if n == 1 {
			return "1 " + name
		}
		return fmt.Sprintf("%d %ss", n, name)
	}
	switch {
	case limit%(24*time.Hour) == 0:
		return unit(age, 24*time.Hour, "day"), unit(limit, 24*time.Hour, "day")
	case limit%time.Hour == 0:
		return unit(age, time.Hour, "hour"), unit(limit, time.Hour, "hour")
	}
	return age.Truncate(time.Second).String(), limit.String()
}

// conventionalKey reports whether key is UPPERCASE_WITH_UNDERSCORES:
// upper-case letters, digits and underscores only. Leading, trailing and
// doubled underscores are allowed (ASP.NET nests settings with "__").
func conventionalKey(key string) bool {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// compareEnvironments runs the checks across environments: missing keys
// and shared values.
func (c *checker) compareEnvironments() {
	if len(c.present) < 2 {
		return
	}
	names := make([]string, len(c.plan.envs))
	for i, em := range c.plan.envs {
		names[i] = em.opts.Environment
	}
	for i, keys := range c.present {
		for key := range keys {
			if c.seenBefore(i, key) {
				continue // compared when its first environment came up
			}
			var holders, lacking []int
			for j := range c.present {
				if _, ok := c.present[j][key]; ok {
					holders = append(holders, j)
				} else {
					lacking = append(lacking, j)
				}
			}
			for _, j := range lacking {
				c.add(FindingMissing, names[j], key, fmt.Sprintf(
					"not set here but set in %s: add it here, or delete it there if it is no longer used",
					joinNames(names, holders, -1)))
			}
			if c.shared() {
				c.sharedValues(names, key, holders)
			}
		}
	}
}

// seenBefore reports whether an environment before i has key.
func (c *checker) seenBefore(i int, key string) bool {
	for h := range i {
		if _, ok := c.present[h][key]; ok {
			return true
		}
	}
	return false
}

// sharedValues reports, for key, each environment whose value equals the
// value of another environment.
func (c *checker) sharedValues(names []string, key string, holders []int) {
	for _, j := range holders {
		var same []int
		for _, h := range holders {
			if h != j && c.present[h][key] == c.present[j][key] {
				same = append(same, h)
			}
		}
		if len(same) > 0 {
			c.add(FindingSharedValue, names[j], key, fmt.Sprintf(
				"same value as in %s: give each environment its own value", joinNames(names, same, j)))
		}
	}
}

// joinNames joins the names of environments idx, leaving out skip.
func joinNames(names []string, idx []int, skip int) string {
	var out []string
	for _, i := range idx {
		if i != skip {
			out = append(out, names[i])
		}
	}
	return strings.Join(out, ", ")
}
