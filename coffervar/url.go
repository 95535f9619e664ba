package coffervar

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"gocloud.dev/runtimevar"

	"github.com/coffer-go/coffer"
)

// URLOpener opens coffer:// URLs with its Manager:
//
//	coffer://KEY?decoder=string&environment=production&project=shop&wait=30s
//
// The URL's host is the secret's key (coffer's key rules apply; it is
// case-sensitive). Every query parameter is optional and may be given once:
//
//   - decoder: bytes, string or jsonmap (see runtimevar.DecoderByName);
//     default: URLOpener.Decoder, or runtimevar.BytesDecoder when that is nil.
//     The decrypt decoders are refused: coffer opens values itself.
//   - project: another project than the Manager's (Manager.Project).
//   - environment: another environment than the Manager's (Manager.Environment).
//   - wait: the polling interval, a positive time.ParseDuration string;
//     default: URLOpener.Options.WaitDuration.
//
// Anything else — another parameter, a path, user information, a fragment —
// is an error, so a misspelt parameter is never silently ignored.
type URLOpener struct {
	// Manager is the Manager whose secrets the URLs name. It is required.
	Manager *coffer.Manager
	// Decoder is the decoder of URLs that name none; nil means
	// runtimevar.BytesDecoder.
	Decoder *runtimevar.Decoder
	// Options are the options of every Variable opened, unless the URL
	// sets wait.
	Options Options
}

// OpenVariableURL implements runtimevar.VariableURLOpener.
func (o *URLOpener) OpenVariableURL(ctx context.Context, u *url.URL) (*runtimevar.Variable, error) {
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	return o.open(ctx, cfg)
}

func (o *URLOpener) open(ctx context.Context, cfg urlConfig) (*runtimevar.Variable, error) {
	w, err := o.watcher(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return runtimevar.New(w), nil
}

// watcher returns the watcher of what the URL says.
func (o *URLOpener) watcher(ctx context.Context, cfg urlConfig) (*watcher, error) {
	if o.Manager == nil {
		return nil, fmt.Errorf("%w: coffervar.URLOpener has no Manager", coffer.ErrInvalidOptions)
	}
	decoder, err := runtimevar.DecoderByName(ctx, cfg.decoder, o.Decoder)
	if err != nil {
		return nil, fmt.Errorf("coffervar: %w", err)
	}
	m := o.Manager
	if cfg.project != "" {
		if m, err = m.Project(cfg.project); err != nil {
			return nil, fmt.Errorf("coffervar: project parameter: %w", err)
		}
	}
	if cfg.environment != "" {
		if m, err = m.Environment(cfg.environment); err != nil {
			return nil, fmt.Errorf("coffervar: environment parameter: %w", err)
		}
	}
	opts := o.Options
	if cfg.wait != 0 {
		opts.WaitDuration = cfg.wait
	}
	return newWatcher(m, cfg.key, decoder, &opts)
}

// urlConfig is what a coffer:// URL says. Empty fields were not given.
type urlConfig struct {
	key         string
	decoder     string
	project     string
	environment string
	wait        time.Duration
}

// URL returns the URL that parses to c.
func (c urlConfig) URL() *url.URL {
	q := url.Values{}
	for name, v := range map[string]string{"decoder": c.decoder, "project": c.project, "environment": c.environment} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if c.wait != 0 {
		q.Set("wait", c.wait.String())
	}
	return &url.URL{Scheme: Scheme, Host: c.key, RawQuery: q.Encode()}
}

// decoders are the decoder names a URL may give.
var decoders = []string{"bytes", "jsonmap", "string"}

// parseURL reads a coffer:// URL strictly, reporting every problem at
// once. It checks the key against coffer's rules; project and environment
// names are checked when the Manager for them is made.
func parseURL(u *url.URL) (urlConfig, error) {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	var cfg urlConfig
	switch {
	case u.Opaque != "":
		add("the key goes after %s://, as in %s://KEY", Scheme, Scheme)
	case u.User != nil:
		// Not shown: it may be a password.
		add("a %s:// URL has no user information", Scheme)
	default:
		cfg.key = u.Host
		if err := coffer.ValidateKey(u.Host); err != nil {
			add("%w", err)
		}
	}
	if u.Path != "" && u.Path != "/" {
		add("the URL has a path %q: the key is the URL's host, and project and environment are query parameters", u.Path)
	}
	if u.Fragment != "" {
		add("the URL has a fragment; a %s:// URL has none", Scheme)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		add("malformed query: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(q)) {
		vs := q[name]
		if len(vs) != 1 {
			add("query parameter %q is given %d times; give it once", name, len(vs))
			continue
		}
		v := vs[0]
		if v == "" {
			add("query parameter %q is empty; leave it out for the default", name)
			continue
		}
		switch name {
		case "decoder":
			switch {
			case strings.HasPrefix(v, "decrypt"):
				add("decoder %q: coffer opens values itself; use bytes, string or jsonmap", v)
			case !slices.Contains(decoders, v):
				add("unsupported decoder %q; want one of %s", v, strings.Join(decoders, ", "))
			default:
				cfg.decoder = v
			}
		case "project":
			cfg.project = v
		case "environment":
			cfg.environment = v
		case "wait":
			d, err := time.ParseDuration(v)
			switch {
			case err != nil:
				add("query parameter wait: %w", err)
			case d <= 0:
				add("query parameter wait is %v; want a positive duration such as 30s", d)
			default:
				cfg.wait = d
			}
		default:
			add("unknown query parameter %q; want decoder, environment, project or wait", name)
		}
	}
	if len(problems) > 0 {
		return urlConfig{}, fmt.Errorf("coffervar: invalid %s:// URL: %w", Scheme, problemList(problems))
	}
	return cfg, nil
}

// problemList is several problems as one error, on one line; each still
// matches with errors.Is.
type problemList []error

func (p problemList) Error() string {
	msgs := make([]string, len(p))
	for i, err := range p {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "; ")
}

func (p problemList) Unwrap() []error { return p }
