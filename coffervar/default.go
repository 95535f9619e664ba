package coffervar

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"

	"gocloud.dev/runtimevar"

	"github.com/coffer-go/coffer"
	"github.com/coffer-go/coffer/internal/redact"
)

// The environment variables the default opener reads, as the coffer command
// line does.
const (
	envStoreURL    = "COFFER_STORE_URL"
	envKeeperURL   = "COFFER_KEEPER_URL"
	envProject     = "COFFER_PROJECT"
	envEnvironment = "COFFER_ENV"
)

func init() {
	runtimevar.DefaultURLMux().RegisterVariable(Scheme, &defaultOpener{getenv: os.Getenv})
}

// defaultOpener opens the Manager named by the environment on first use and
// then serves every coffer:// URL with it, as gocloud's lazy openers do with
// their clients. A failed open is not remembered: the next URL tries again,
// so a store that was briefly unreachable at start does not fail the
// process for good.
type defaultOpener struct {
	getenv func(string) string

	mu     sync.Mutex
	opener *URLOpener
}

// OpenVariableURL implements runtimevar.VariableURLOpener.
func (o *defaultOpener) OpenVariableURL(ctx context.Context, u *url.URL) (*runtimevar.Variable, error) {
	// A bad URL fails before the store is touched.
	cfg, err := parseURL(u)
	if err != nil {
		return nil, err
	}
	opener, err := o.get(ctx)
	if err != nil {
		return nil, err
	}
	return opener.open(ctx, cfg)
}

func (o *defaultOpener) get(ctx context.Context) (*URLOpener, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.opener != nil {
		return o.opener, nil
	}
	m, err := o.openManager(ctx)
	if err != nil {
		return nil, err
	}
	o.opener = &URLOpener{Manager: m}
	return o.opener, nil
}

// openManager opens the Manager of the environment's URLs. Its errors never
// hold either URL.
func (o *defaultOpener) openManager(ctx context.Context) (*coffer.Manager, error) {
	storeURL, keeperURL := o.getenv(envStoreURL), o.getenv(envKeeperURL)
	var missing []string
	for _, v := range []struct{ name, value string }{{envStoreURL, storeURL}, {envKeeperURL, keeperURL}} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: the default %s:// opener needs %s set in the environment (or register a coffervar.URLOpener with a Manager of your own)",
			coffer.ErrInvalidOptions, Scheme, strings.Join(missing, " and "))
	}
	m, err := coffer.Open(ctx, storeURL, keeperURL, &coffer.Options{
		Project:     o.getenv(envProject),
		Environment: o.getenv(envEnvironment),
	})
	if err != nil {
		// coffer.Open already keeps both URLs out of its errors; check
		// again, since a leak here would put key material in a log.
		if leaks(err.Error(), storeURL, keeperURL) {
			return nil, fmt.Errorf("coffervar: open the Manager of %s and %s failed; details withheld because they would show a URL", envStoreURL, envKeeperURL)
		}
		return nil, fmt.Errorf("coffervar: open the Manager of %s and %s: %w", envStoreURL, envKeeperURL, err)
	}
	return m, nil
}

// leaks reports whether msg shows a secret part of the URLs: a 16-byte
// piece of the keeper URL after its scheme (or all of it, when shorter),
// where base64key:// and stringkey:// keep their key, or a piece of the
// store URL's password. The keeper check uses longer pieces than
// redact.Leaks so that words every message holds ("coffer") do not withhold
// the details of every failure with a keeper URL such as
// awskms://alias/coffer.
func leaks(msg, storeURL, keeperURL string) bool {
	const piece = 16
	_, rest, ok := strings.Cut(keeperURL, "://")
	if !ok {
		rest = keeperURL
	}
	if len(rest) <= piece {
		if rest != "" && strings.Contains(msg, rest) {
			return true
		}
	} else {
		for i := 0; i+piece <= len(rest); i++ {
			if strings.Contains(msg, rest[i:i+piece]) {
				return true
			}
		}
	}
	if u, err := url.Parse(storeURL); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && redact.Leaks(msg, pw) {
			return true
		}
	}
	return false
}
