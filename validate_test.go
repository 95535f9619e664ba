package coffer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/coffer-go/coffer"
)

// TestCreateRules covers every Create row of the rules table: accepted
// inputs are stored, rejected ones give every matching sentinel (and the
// page's exact words where it has them) and leave the store unchanged.
func TestCreateRules(t *testing.T) {
	long := func(n int, s string) string { return strings.Repeat(s, n) }
	tests := []struct {
		name     string
		opts     *coffer.Options
		in       coffer.NewSecret
		wantErrs []error  // nil: accepted
		wantMsg  string   // exact message, when the page documents it
		wantIn   []string // substrings the message must hold
		wantType coffer.Type
	}{
		{name: "key required", in: coffer.NewSecret{Value: "v"}, wantErrs: []error{coffer.ErrKeyRequired}, wantMsg: "secret key is required"},
		{name: "value required", in: coffer.NewSecret{Key: "K"}, wantErrs: []error{coffer.ErrValueRequired}, wantMsg: "secret value is required"},
		{name: "key and value required", in: coffer.NewSecret{}, wantErrs: []error{coffer.ErrKeyRequired, coffer.ErrValueRequired}, wantMsg: "secret key is required; secret value is required"},
		{name: "hyphen", in: coffer.NewSecret{Key: "API-KEY", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'-'", "position 3"}},
		{name: "dot", in: coffer.NewSecret{Key: "a.b", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'.'"}},
		{name: "space", in: coffer.NewSecret{Key: "MY KEY", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"' '"}},
		{name: "slash", in: coffer.NewSecret{Key: "A/B", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'/'"}},
		{name: "NUL in key", in: coffer.NewSecret{Key: "A\x00B", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{`'\x00'`}},
		{name: "non-ASCII letter", in: coffer.NewSecret{Key: "CLÉ", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'É'", "position 2"}},
		{name: "invalid UTF-8", in: coffer.NewSecret{Key: "K\xff", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"0xff", "position 1"}},
		{name: "leading digit", in: coffer.NewSecret{Key: "1PASSWORD", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"starts with a digit"}},
		{name: "257 bytes", in: coffer.NewSecret{Key: long(257, "K"), Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"257 bytes"}},
		{name: "256 bytes", in: coffer.NewSecret{Key: long(256, "K"), Value: "v"}, wantType: coffer.TypeGeneric},
		{name: "leading underscore and digits", in: coffer.NewSecret{Key: "_K2_3", Value: "v"}, wantType: coffer.TypeGeneric},
		{name: "lower case allowed by default", in: coffer.NewSecret{Key: "stripe_api_key", Value: "v"}, wantType: coffer.TypeAPIKey},
		{name: "RequireUppercase", opts: &coffer.Options{RequireUppercase: true}, in: coffer.NewSecret{Key: "Stripe_KEY", Value: "v"}, wantErrs: []error{coffer.ErrInvalidKey}, wantIn: []string{"'t'", "STRIPE_KEY"}},
		{name: "RequireUppercase accepts upper case", opts: &coffer.Options{RequireUppercase: true}, in: coffer.NewSecret{Key: "STRIPE_KEY_2", Value: "v"}, wantType: coffer.TypeGeneric},
		{name: "value at 64 KiB", in: coffer.NewSecret{Key: "BIG", Value: coffer.Value(long(65536, "x"))}, wantType: coffer.TypeGeneric},
		{name: "value over 64 KiB", in: coffer.NewSecret{Key: "BIG", Value: coffer.Value(long(65537, "x"))}, wantErrs: []error{coffer.ErrValueTooLarge}, wantIn: []string{"65537", "65536"}},
		{name: "MaxValueBytes", opts: &coffer.Options{MaxValueBytes: 8}, in: coffer.NewSecret{Key: "K", Value: "123456789"}, wantErrs: []error{coffer.ErrValueTooLarge}, wantIn: []string{"9 bytes", "limit is 8"}},
		{name: "NUL in value", in: coffer.NewSecret{Key: "K", Value: "ab\x00c"}, wantErrs: []error{coffer.ErrInvalidValue}, wantIn: []string{"NUL", "position 2"}},
		{name: "description 1024 characters", in: coffer.NewSecret{Key: "K", Value: "v", Description: long(1024, "é")}, wantType: coffer.TypeGeneric},
		{name: "description 1025 characters", in: coffer.NewSecret{Key: "K", Value: "v", Description: long(1025, "d")}, wantErrs: []error{coffer.ErrDescriptionTooLong}, wantIn: []string{"1025"}},
		{name: "description not UTF-8", in: coffer.NewSecret{Key: "K", Value: "v", Description: "caf\xe9"}, wantErrs: []error{coffer.ErrInvalidDescription}},
		{name: "set type", in: coffer.NewSecret{Key: "K", Value: "v", Type: "webhook_secret"}, wantType: "webhook_secret"},
		{name: "set type overrides inference", in: coffer.NewSecret{Key: "GITHUB_TOKEN", Value: "v", Type: coffer.TypeCredential}, wantType: coffer.TypeCredential},
		{name: "type upper case", in: coffer.NewSecret{Key: "K", Value: "v", Type: "API_KEY"}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "type hyphen", in: coffer.NewSecret{Key: "K", Value: "v", Type: "api-key"}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "type leading digit", in: coffer.NewSecret{Key: "K", Value: "v", Type: "1type"}, wantErrs: []error{coffer.ErrInvalidType}},
		{name: "type too long", in: coffer.NewSecret{Key: "K", Value: "v", Type: coffer.Type(long(65, "t"))}, wantErrs: []error{coffer.ErrInvalidType}},
		{
			name:     "every problem at once",
			opts:     &coffer.Options{MaxValueBytes: 4},
			in:       coffer.NewSecret{Key: "bad key", Value: "too large", Description: long(1025, "d"), Type: "Bad"},
			wantErrs: []error{coffer.ErrInvalidKey, coffer.ErrValueTooLarge, coffer.ErrDescriptionTooLong, coffer.ErrInvalidType},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts)
			ctx := context.Background()
			mustCreate(t, e.m, "EXISTING", "keep")
			before := snapshot(t, e.coll)
			got, err := e.m.Create(ctx, tt.in)
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatalf("Create: %v", err)
				}
				want := coffer.Secret{
					Key: tt.in.Key, Description: tt.in.Description, Project: "default", Environment: "default",
					Type: tt.wantType, CreatedAt: fixedNow, UpdatedAt: fixedNow, RotatedAt: fixedNow, Version: 1,
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Create (-want +got):\n%s", diff)
				}
				v, err := e.m.Reveal(ctx, tt.in.Key)
				if err != nil || v != tt.in.Value {
					t.Errorf("Reveal after Create: %d bytes, %v; want the %d bytes stored", len(v), err, len(tt.in.Value))
				}
				return
			}
			if err == nil {
				t.Fatal("Create accepted bad input")
			}
			for _, w := range tt.wantErrs {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not match %q", err, w)
				}
			}
			if tt.wantMsg != "" && err.Error() != tt.wantMsg {
				t.Errorf("message %q, want %q", err, tt.wantMsg)
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q does not mention %s", err, s)
				}
			}
			if got != (coffer.Secret{}) {
				t.Errorf("rejected Create returned %+v", got)
			}
			unchanged(t, e.coll, before)
		})
	}
}

func TestInferType(t *testing.T) {
	tests := map[string]coffer.Type{
		"STRIPE_API_KEY":        coffer.TypeAPIKey,
		"API_KEY":               coffer.TypeAPIKey,
		"openai_api_key":        coffer.TypeAPIKey,
		"DATABASE_URL":          coffer.TypeConnectionString,
		"REDIS_URL":             coffer.TypeConnectionString,
		"SENTRY_DSN":            coffer.TypeConnectionString,
		"DATABASE_HOST":         coffer.TypeConnectionString,
		"GITHUB_TOKEN":          coffer.TypeToken,
		"SMTP_PASSWORD":         coffer.TypePassword,
		"DATABASE_PASSWORD":     coffer.TypePassword,
		"AWS_ACCESS_KEY_ID":     coffer.TypeCredential,
		"AWS_SECRET_ACCESS_KEY": coffer.TypeCredential,
		"DATA_ENCRYPTION_KEY":   coffer.TypeEncryptionKey,
		"JWT_SIGNING_KEY":       coffer.TypeEncryptionKey,
		"FEATURE_FLAG":          coffer.TypeGeneric,
		"CURL":                  coffer.TypeGeneric, // not "_URL"
		"APITOKEN":              coffer.TypeGeneric, // not "_TOKEN"
	}
	for key, want := range tests {
		if got := coffer.InferType(key); got != want {
			t.Errorf("InferType(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestKeysAreCaseSensitive(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "API_KEY", "upper")
	mustCreate(t, e.m, "api_key", "lower")
	list, err := e.m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"API_KEY", "api_key"}, keysOf(list)); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}
	for key, want := range map[string]coffer.Value{"API_KEY": "upper", "api_key": "lower"} {
		if v, err := e.m.Reveal(ctx, key); err != nil || v != want {
			t.Errorf("Reveal(%s) = %q, %v", key, string(v), err)
		}
	}
}

// TestUpdateRules covers the edit rows: empty value keeps the value, nothing
// new is ErrNoChanges, the key never changes, bad input changes nothing.
func TestUpdateRules(t *testing.T) {
	tests := []struct {
		name        string
		change      coffer.Change
		wantErrs    []error
		wantMsg     string
		wantValue   coffer.Value
		wantDesc    string
		wantVersion int
	}{
		{name: "nothing", change: coffer.Change{}, wantErrs: []error{coffer.ErrNoChanges}, wantMsg: "no changes to save"},
		{name: "same description", change: coffer.Change{Description: ptr("old")}, wantErrs: []error{coffer.ErrNoChanges}, wantMsg: "no changes to save"},
		{name: "description only keeps value", change: coffer.Change{Description: ptr("new")}, wantValue: "v1", wantDesc: "new", wantVersion: 1},
		{name: "clear description", change: coffer.Change{Description: ptr("")}, wantValue: "v1", wantDesc: "", wantVersion: 1},
		{name: "value only keeps description", change: coffer.Change{Value: "v2"}, wantValue: "v2", wantDesc: "old", wantVersion: 2},
		{name: "both", change: coffer.Change{Value: "v2", Description: ptr("new")}, wantValue: "v2", wantDesc: "new", wantVersion: 2},
		{name: "value too large", change: coffer.Change{Value: coffer.Value(strings.Repeat("x", 65537))}, wantErrs: []error{coffer.ErrValueTooLarge}},
		{name: "NUL value", change: coffer.Change{Value: "a\x00"}, wantErrs: []error{coffer.ErrInvalidValue}},
		{name: "description too long", change: coffer.Change{Description: ptr(strings.Repeat("d", 1025))}, wantErrs: []error{coffer.ErrDescriptionTooLong}},
		{
			name:     "two problems",
			change:   coffer.Change{Value: "a\x00", Description: ptr("\xff")},
			wantErrs: []error{coffer.ErrInvalidValue, coffer.ErrInvalidDescription},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ctx := context.Background()
			if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "K", Value: "v1", Description: "old"}); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, e.coll)
			got, err := e.m.Update(ctx, "K", tt.change)
			if tt.wantErrs != nil {
				for _, w := range tt.wantErrs {
					if !errors.Is(err, w) {
						t.Errorf("error %v does not match %q", err, w)
					}
				}
				if tt.wantMsg != "" && (err == nil || err.Error() != tt.wantMsg) {
					t.Errorf("message %v, want %q", err, tt.wantMsg)
				}
				unchanged(t, e.coll, before)
				return
			}
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			want := coffer.Secret{
				Key: "K", Description: tt.wantDesc, Project: "default", Environment: "default", Type: coffer.TypeGeneric,
				CreatedAt: fixedNow, UpdatedAt: fixedNow, RotatedAt: fixedNow, Version: tt.wantVersion,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Update (-want +got):\n%s", diff)
			}
			if g, err := e.m.Get(ctx, "K"); err != nil || cmp.Diff(want, g) != "" {
				t.Errorf("Get after Update: %v (-want +got):\n%s", err, cmp.Diff(want, g))
			}
			if v, err := e.m.Reveal(ctx, "K"); err != nil || v != tt.wantValue {
				t.Errorf("Reveal after Update = %q, %v; want %q", string(v), err, string(tt.wantValue))
			}
		})
	}
}

func TestUpdateBadKeyAndMissing(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	mustCreate(t, e.m, "DATABASE_URL", "v")
	before := snapshot(t, e.coll)
	for _, tt := range []struct {
		key  string
		want error
	}{
		{"", coffer.ErrKeyRequired},
		{"BAD-KEY", coffer.ErrInvalidKey},
		{"MISSING", coffer.ErrNotFound},
	} {
		if _, err := e.m.Update(ctx, tt.key, coffer.Change{Value: "new"}); !errors.Is(err, tt.want) {
			t.Errorf("Update(%q): %v, want %v", tt.key, err, tt.want)
		}
		if err := e.m.Delete(ctx, tt.key); !errors.Is(err, tt.want) {
			t.Errorf("Delete(%q): %v, want %v", tt.key, err, tt.want)
		}
		if _, err := e.m.Reveal(ctx, tt.key); !errors.Is(err, tt.want) {
			t.Errorf("Reveal(%q): %v, want %v", tt.key, err, tt.want)
		}
		if _, err := e.m.Get(ctx, tt.key); !errors.Is(err, tt.want) {
			t.Errorf("Get(%q): %v, want %v", tt.key, err, tt.want)
		}
	}
	unchanged(t, e.coll, before)
}

func TestUpdateTimesAndActor(t *testing.T) {
	now := fixedNow
	e := newEnv(t, &coffer.Options{Now: func() time.Time { return now }})
	ctx := coffer.WithActor(context.Background(), "alice")
	if _, err := e.m.Create(ctx, coffer.NewSecret{Key: "GITHUB_TOKEN", Value: "v1"}); err != nil {
		t.Fatal(err)
	}
	now = fixedNow.Add(time.Hour)
	if _, err := e.m.Update(coffer.WithActor(ctx, "bob"), "GITHUB_TOKEN", coffer.Change{Description: ptr("CI")}); err != nil {
		t.Fatal(err)
	}
	now = fixedNow.Add(2 * time.Hour)
	got, err := e.m.Update(coffer.WithActor(ctx, "carol"), "GITHUB_TOKEN", coffer.Change{Value: "v2"})
	if err != nil {
		t.Fatal(err)
	}
	want := coffer.Secret{
		Key: "GITHUB_TOKEN", Description: "CI", Project: "default", Environment: "default", Type: coffer.TypeToken,
		CreatedAt: fixedNow, UpdatedAt: fixedNow.Add(2 * time.Hour), RotatedAt: fixedNow.Add(2 * time.Hour),
		CreatedBy: "alice", UpdatedBy: "carol", Version: 2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
