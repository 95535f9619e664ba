package coffervar

import (
	"context"
	"encoding/base64"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gocloud.dev/runtimevar"
	"gocloud.dev/secrets/localsecrets"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/redact"
)

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return u
}

// TestParseURL: what a good URL says, and that each bad one is refused
// with every problem named.
func TestParseURL(t *testing.T) {
	for _, tt := range []struct {
		url  string
		want urlConfig
	}{
		{"coffer://DATABASE_URL", urlConfig{key: "DATABASE_URL"}},
		{"coffer://DATABASE_URL/", urlConfig{key: "DATABASE_URL"}},
		{"coffer://api_key?", urlConfig{key: "api_key"}},
		{"coffer://K?decoder=string&environment=production&project=shop&wait=1m30s",
			urlConfig{key: "K", decoder: "string", environment: "production", project: "shop", wait: 90 * time.Second}},
		{"coffer://K?decoder=jsonmap", urlConfig{key: "K", decoder: "jsonmap"}},
		{"coffer://K?decoder=bytes&wait=100ms", urlConfig{key: "K", decoder: "bytes", wait: 100 * time.Millisecond}},
	} {
		got, err := parseURL(mustParse(t, tt.url))
		if err != nil {
			t.Errorf("parseURL(%q): %v", tt.url, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(urlConfig{})); diff != "" {
			t.Errorf("parseURL(%q) (-want +got):\n%s", tt.url, diff)
		}
	}

	for _, tt := range []struct {
		url  string
		want []string // in the message, in this order
		is   error
	}{
		{"coffer:DATABASE_URL", []string{"the key goes after coffer://"}, nil},
		{"coffer://", []string{"secret key is required"}, coffer.ErrKeyRequired},
		{"coffer://DATABASE-URL", []string{"invalid secret key", `'-'`}, coffer.ErrInvalidKey},
		{"coffer://1KEY", []string{"starts with a digit"}, coffer.ErrInvalidKey},
		{"coffer://KEY:5432", []string{"invalid secret key"}, coffer.ErrInvalidKey},
		{"coffer://user:hunter22@KEY", []string{"no user information"}, nil},
		{"coffer://shop/production/KEY", []string{`path "/production/KEY"`}, nil},
		{"coffer://KEY#frag", []string{"fragment"}, nil},
		{"coffer://KEY?decoder=json", []string{`unsupported decoder "json"`}, nil},
		{"coffer://KEY?decoder=decrypt%2Bstring", []string{"coffer opens values itself"}, nil},
		{"coffer://KEY?decoder=", []string{`"decoder" is empty`}, nil},
		{"coffer://KEY?wait=soon", []string{"query parameter wait"}, nil},
		{"coffer://KEY?wait=0s", []string{"wait is 0s; want a positive duration"}, nil},
		{"coffer://KEY?wait=-1s", []string{"wait is -1s"}, nil},
		{"coffer://KEY?env=production", []string{`unknown query parameter "env"`}, nil},
		{"coffer://KEY?project=a&project=b", []string{`"project" is given 2 times`}, nil},
		{"coffer://KEY?project=%zz", []string{"malformed query"}, nil},
		{"coffer://bad-key?Decoder=string&wait=x", []string{"invalid secret key", `unknown query parameter "Decoder"`, "query parameter wait"}, coffer.ErrInvalidKey},
	} {
		_, err := parseURL(mustParse(t, tt.url))
		if err == nil {
			t.Errorf("parseURL(%q) accepted it", tt.url)
			continue
		}
		msg, at := err.Error(), 0
		for _, w := range tt.want {
			i := strings.Index(msg[at:], w)
			if i < 0 {
				t.Errorf("parseURL(%q) = %q; want it to say %q (after what came before)", tt.url, msg, w)
				break
			}
			at += i + len(w)
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("parseURL(%q) = %v; want errors.Is %v", tt.url, err, tt.is)
		}
		if strings.Contains(msg, "hunter22") {
			t.Errorf("parseURL(%q) shows the password: %v", tt.url, err)
		}
	}
}

// FuzzParseURL: parseURL never panics; what it accepts has a valid key, a
// known decoder and a positive or unset wait, and is what the URL it
// renders parses to again.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"coffer://DATABASE_URL?decoder=string",
		"coffer://K?decoder=jsonmap&environment=production&project=shop&wait=1m30s",
		"coffer://K?wait=1ns", "coffer://K?wait=0", "coffer://K/", "coffer:K", "coffer://u:p@K",
		"coffer://K?decoder=decrypt", "coffer://K?x=1&x=2", "coffer://K#f", "coffer://%41", "coffer://[::1]",
		"coffer://K?project=%zz", "coffer://K?;", "coffer://K?project=a+b", "coffer://ключ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		cfg, err := parseURL(u)
		if err != nil {
			if cfg != (urlConfig{}) {
				t.Fatalf("parseURL(%q) returned %+v with its error", raw, cfg)
			}
			return
		}
		if err := coffer.ValidateKey(cfg.key); err != nil {
			t.Fatalf("parseURL(%q) accepted key %q: %v", raw, cfg.key, err)
		}
		switch cfg.decoder {
		case "", "bytes", "string", "jsonmap":
		default:
			t.Fatalf("parseURL(%q) accepted decoder %q", raw, cfg.decoder)
		}
		if cfg.wait < 0 {
			t.Fatalf("parseURL(%q) accepted wait %v", raw, cfg.wait)
		}
		again, err := parseURL(cfg.URL())
		if err != nil {
			t.Fatalf("parseURL(%q) = %+v, whose URL %q does not parse: %v", raw, cfg, cfg.URL(), err)
		}
		if again != cfg {
			t.Fatalf("parseURL(%q) = %+v; its URL %q parses to %+v", raw, cfg, cfg.URL(), again)
		}
	})
}

// TestURLOpener: a URL reaches the secret of the project and environment
// it names, decodes as it says, and polls as often as it says; a bad name
// or a missing Manager is refused.
func TestURLOpener(t *testing.T) {
	f := newFixture(t, engines[0])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shop, err := f.m.Project("shop")
	if err != nil {
		t.Fatal(err)
	}
	prod, err := shop.Environment("production")
	if err != nil {
		t.Fatal(err)
	}
	for where, m := range map[string]*coffer.Manager{"default/default": f.m, "shop/production": prod} {
		if _, err := m.Create(ctx, coffer.NewSecret{Key: "CONFIG", Value: coffer.Value(`{"where":"` + where + `"}`)}); err != nil {
			t.Fatal(err)
		}
	}
	mux := new(runtimevar.URLMux)
	mux.RegisterVariable(Scheme, &URLOpener{Manager: f.m, Decoder: runtimevar.StringDecoder})

	for _, tt := range []struct {
		url  string
		want any
	}{
		{"coffer://CONFIG", `{"where":"default/default"}`},
		{"coffer://CONFIG?project=shop&environment=production", `{"where":"shop/production"}`},
		{"coffer://CONFIG?project=shop&environment=production&decoder=jsonmap", &map[string]any{"where": "shop/production"}},
		{"coffer://CONFIG?decoder=bytes", []byte(`{"where":"default/default"}`)},
	} {
		v, err := mux.OpenVariable(ctx, tt.url)
		if err != nil {
			t.Errorf("OpenVariable(%q): %v", tt.url, err)
			continue
		}
		snap, err := v.Watch(ctx)
		v.Close()
		if err != nil {
			t.Errorf("OpenVariable(%q): Watch: %v", tt.url, err)
			continue
		}
		if diff := cmp.Diff(tt.want, snap.Value); diff != "" {
			t.Errorf("OpenVariable(%q) (-want +got):\n%s", tt.url, diff)
		}
	}

	// wait=: the watcher polls at that interval.
	o := &URLOpener{Manager: f.m, Options: Options{WaitDuration: time.Hour}}
	for raw, want := range map[string]time.Duration{"coffer://CONFIG": time.Hour, "coffer://CONFIG?wait=250ms": 250 * time.Millisecond} {
		cfg, err := parseURL(mustParse(t, raw))
		if err != nil {
			t.Fatal(err)
		}
		w, err := o.watcher(ctx, cfg)
		if err != nil || w.wait != want {
			t.Errorf("%s: wait %v, %v; want %v", raw, w.wait, err, want)
		}
	}

	for raw, want := range map[string]error{
		"coffer://CONFIG?project=no/slash":   coffer.ErrInvalidName,
		"coffer://CONFIG?environment=a%20b":  coffer.ErrInvalidName,
		"coffer://CONFIG?decoder=gob":        nil,
		"coffer://CONFIG?decoder=jsonmap&x=": nil,
	} {
		v, err := mux.OpenVariable(ctx, raw)
		if err == nil {
			v.Close()
			t.Errorf("OpenVariable(%q) accepted it", raw)
		} else if want != nil && !errors.Is(err, want) {
			t.Errorf("OpenVariable(%q): %v; want %v", raw, err, want)
		}
	}
	if _, err := (&URLOpener{}).OpenVariableURL(ctx, mustParse(t, "coffer://CONFIG")); !errors.Is(err, coffer.ErrInvalidOptions) {
		t.Errorf("URLOpener without a Manager: %v; want ErrInvalidOptions", err)
	}
}

// TestDefaultOpener: the opener registered for coffer:// opens its Manager
// from COFFER_STORE_URL, COFFER_KEEPER_URL, COFFER_PROJECT and COFFER_ENV on
// first use and keeps it; it says which variable is missing; a failed open
// is retried at the next URL; no error shows key material or a password.
func TestDefaultOpener(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	keeperURL := "base64key://" + base64.URLEncoding.EncodeToString(key[:])
	storeURL := "mem://" + freshName("coffervar_default_")
	env := map[string]string{}
	o := &defaultOpener{getenv: func(name string) string { return env[name] }}
	open := func(raw string) (*runtimevar.Variable, error) { return o.OpenVariableURL(ctx, mustParse(t, raw)) }

	// Nothing set: both variables named.
	_, err = open("coffer://DATABASE_URL")
	if !errors.Is(err, coffer.ErrInvalidOptions) || !strings.Contains(err.Error(), "COFFER_STORE_URL and COFFER_KEEPER_URL") {
		t.Errorf("with nothing set: %v; want ErrInvalidOptions naming both variables", err)
	}
	// A bad URL fails first, without touching the store.
	if _, err := open("coffer://DATABASE_URL?decoder=gob"); err == nil || !strings.Contains(err.Error(), "unsupported decoder") {
		t.Errorf("bad URL: %v; want the URL's problem", err)
	}

	// Secrets in URLs that cannot be opened: no piece may show.
	const canary = "Zq8CanaryKey0x7Wm3"
	for _, tt := range []struct{ store, keeper string }{
		{storeURL, "base64key://" + canary},
		{storeURL, "stringkey://" + canary},
		{storeURL, canary},
		{"postgres://coffer:" + canary + "@127.0.0.1:1/db?connect_timeout=1", keeperURL},
		{"sqlite://" + t.TempDir() + "/x.db?password=" + canary, keeperURL},
		{"nosuch://" + canary, keeperURL},
		{storeURL, "nosuch://" + canary},
	} {
		env["COFFER_STORE_URL"], env["COFFER_KEEPER_URL"] = tt.store, tt.keeper
		v, err := open("coffer://DATABASE_URL")
		if err == nil {
			v.Close()
			t.Errorf("store %q, keeper %q: opened", tt.store, tt.keeper)
			continue
		}
		if redact.Leaks(err.Error(), canary) {
			t.Errorf("store %q, keeper %q: the error shows the secret: %v", tt.store, tt.keeper, err)
		}
		if o.opener != nil {
			t.Fatal("a failed open was kept")
		}
	}

	// Good URLs: the Manager of the environment's project and environment.
	env["COFFER_STORE_URL"], env["COFFER_KEEPER_URL"] = storeURL, keeperURL
	env["COFFER_PROJECT"], env["COFFER_ENV"] = "shop", "staging"
	m, err := coffer.Open(ctx, storeURL, keeperURL, &coffer.Options{Project: "shop", Environment: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "DATABASE_URL", Value: "postgres://db/shop"}); err != nil {
		t.Fatal(err)
	}
	v, err := open("coffer://DATABASE_URL?decoder=string&wait=10ms")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if snap, err := v.Watch(ctx); err != nil || snap.Value != "postgres://db/shop" {
		t.Fatalf("Watch: %v, %v", snap.Value, err)
	}
	first := o.opener
	// Later URLs share the Manager, even when the environment changes.
	env["COFFER_STORE_URL"] = "nosuch://"
	v2, err := open("coffer://DATABASE_URL?environment=staging")
	if err != nil {
		t.Fatal(err)
	}
	v2.Close()
	if o.opener != first {
		t.Error("a second URL opened another Manager")
	}
}

// TestDefaultOpenerRegistered: a blank import is enough for
// runtimevar.OpenVariable to open coffer:// URLs.
func TestDefaultOpenerRegistered(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if !runtimevar.DefaultURLMux().ValidVariableScheme(Scheme) {
		t.Fatalf("%s:// is not registered on runtimevar's default mux", Scheme)
	}
	key, err := localsecrets.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	storeURL := "mem://" + freshName("coffervar_registered_")
	keeperURL := "base64key://" + base64.URLEncoding.EncodeToString(key[:])
	t.Setenv("COFFER_STORE_URL", storeURL)
	t.Setenv("COFFER_KEEPER_URL", keeperURL)
	t.Setenv("COFFER_PROJECT", "")
	t.Setenv("COFFER_ENV", "")
	m, err := coffer.Open(ctx, storeURL, keeperURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Create(ctx, coffer.NewSecret{Key: "API_TOKEN", Value: "t0ken"}); err != nil {
		t.Fatal(err)
	}
	v, err := runtimevar.OpenVariable(ctx, "coffer://API_TOKEN?decoder=string")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	snap, err := v.Watch(ctx)
	if err != nil || snap.Value != "t0ken" {
		t.Fatalf("Watch: %v, %v", snap.Value, err)
	}
	if v, err := runtimevar.OpenVariable(ctx, "coffer://API_TOKEN?decoder=string&wait="); err == nil {
		v.Close()
		t.Error("a bad URL opened")
	}
}

// TestLeaks: the default opener's second check finds a piece of the keeper
// URL's key or of the store's password in a message, and leaves alone the
// words every message holds.
func TestLeaks(t *testing.T) {
	const (
		keeper = "base64key://dC_kOiXt3wCwISTS-lJUAjEbEBSh0P553Ty0Vxfb5ug="
		store  = "postgres://coffer:s3cr3t-pw@db:5432/shop"
	)
	for _, tt := range []struct {
		msg, store, keeper string
		want               bool
	}{
		{"open keeper: bad key wCwISTS-lJUAjEbE", store, keeper, true},
		{"open keeper: bad key dC_kOiXt3wCwISTS", store, keeper, true},
		{"password authentication failed: s3cr3t", store, keeper, true},
		{"open keeper: hunter2", store, "stringkey://hunter2", true},
		{"coffer: open keeper (scheme \"awskms\"): AccessDenied", store, "awskms://alias/coffer?region=eu-west-2", false},
		{"coffer: open collection (scheme \"postgres\"): connection refused", store, keeper, false},
		{"coffer: open collection (scheme \"sqlite\"): no such file /var/lib/coffer/coffer.db", "sqlite:///var/lib/coffer/coffer.db", keeper, false},
	} {
		if got := leaks(tt.msg, tt.store, tt.keeper); got != tt.want {
			t.Errorf("leaks(%q, %q, %q) = %v, want %v", tt.msg, tt.store, tt.keeper, got, tt.want)
		}
	}
}
