package cofferhttp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coffer-go/coffer"
)

// sessionCookie names the page's session cookie. It is HttpOnly (no script
// reads it) and SameSite=Strict (no other site's request carries it).
const sessionCookie = "coffer_session"

// csrfHeader carries the session's CSRF token on the page's state-changing
// requests. A cross-site form cannot set a header, and a cross-site script
// cannot read the token.
const csrfHeader = "X-CSRF-Token"

// SessionKeyLen is the length of Options.SessionKey.
const SessionKeyLen = 32

// DefaultSessionTTL is how long a page session lasts when
// Options.SessionTTL is 0.
const DefaultSessionTTL = 12 * time.Hour

// SignOutRefresh is how often, at most, a handler rereads the sign-out list
// from the store while page sessions use it: a sign-out on one replica holds
// on every other within this time (and at once on the replica that served
// it).
const SignOutRefresh = time.Second

// sessionClaims is what a session cookie carries, signed with the session
// key. Any handler holding the key verifies it without shared state; only
// sign-outs are shared, through the store.
type sessionClaims struct {
	// ID is random: it names the session in the sign-out list and
	// derives the session's CSRF token.
	ID string `json:"sid"`
	// Token names the token signed in with; its role and environments are
	// looked up at every request, so a changed token changes its sessions.
	Token string `json:"sub"`
	// Fingerprint binds the session to the token's secret: replacing a
	// token's secret ends the sessions signed in with the old one.
	Fingerprint string `json:"fp"`
	// Expires is the session's end, in Unix seconds.
	Expires int64 `json:"exp"`
}

var (
	errSessionInvalid = errors.New("invalid session")
	errSessionForged  = fmt.Errorf("%w: bad signature", errSessionInvalid)
)

// sessions issues and verifies page sessions.
type sessions struct {
	macKey, csrfKey, fpKey []byte // derived from Options.SessionKey, one per use
	ttl                    time.Duration
	now                    func() time.Time
	tokens                 tokenTable
	signedOut              *signOutList
}

func newSessions(key []byte, ttl time.Duration, now func() time.Time, tokens tokenTable, signedOut *signOutList) *sessions {
	derive := func(use string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("coffer-session-key/" + use))
		return m.Sum(nil)
	}
	return &sessions{
		macKey: derive("mac"), csrfKey: derive("csrf"), fpKey: derive("fingerprint"),
		ttl: ttl, now: now, tokens: tokens, signedOut: signedOut,
	}
}

func (s *sessions) mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// fingerprint identifies a token's secret (through its hash) without
// revealing it.
func (s *sessions) fingerprint(t *tokenEntry) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(s.fpKey, string(t.hash[:]))[:12])
}

// issue starts a session for token t and returns the cookie value and the
// claims.
func (s *sessions) issue(t *tokenEntry) (string, *sessionClaims) {
	c := &sessionClaims{
		ID:          randomToken(),
		Token:       t.p.Name,
		Fingerprint: s.fingerprint(t),
		Expires:     s.now().Add(s.ttl).Unix(),
	}
	payload, _ := json.Marshal(c) // strings and an int: cannot fail
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(s.mac(s.macKey, p)), c
}

// verify checks a cookie value's signature and expiry and returns its claims.
func (s *sessions) verify(value string) (*sessionClaims, error) {
	p, sig, ok := strings.Cut(value, ".")
	if !ok {
		return nil, errSessionForged
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, s.mac(s.macKey, p)) {
		return nil, errSessionForged
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return nil, errSessionForged
	}
	var c sessionClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.ID == "" {
		return nil, errSessionForged
	}
	if s.now().Unix() >= c.Expires {
		return nil, fmt.Errorf("%w: expired", errSessionInvalid)
	}
	return &c, nil
}

// principal returns who holds a session cookie: the token it was signed in
// with, as configured now. errSessionInvalid for a forged, expired or
// signed-out session or one whose token is gone or has a new secret; other
// errors when the sign-out list cannot be read.
func (s *sessions) principal(ctx context.Context, value string) (*principal, error) {
	c, err := s.verify(value)
	if err != nil {
		return nil, err
	}
	t, ok := s.tokens.byName(c.Token)
	if !ok || !hmac.Equal([]byte(c.Fingerprint), []byte(s.fingerprint(t))) {
		return nil, fmt.Errorf("%w: token changed", errSessionInvalid)
	}
	out, err := s.signedOut.contains(ctx, c)
	if err != nil {
		return nil, err
	}
	if out {
		return nil, fmt.Errorf("%w: signed out", errSessionInvalid)
	}
	return &principal{Principal: t.p, via: viaSession, session: c}, nil
}

// csrf returns a session's CSRF token, derived from its id: every replica
// derives the same one.
func (s *sessions) csrf(c *sessionClaims) string {
	return base64.RawURLEncoding.EncodeToString(s.mac(s.csrfKey, c.ID))
}

func (s *sessions) cookie(r *http.Request, value string) *http.Cookie {
	return &http.Cookie{
		Name:     sessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   int(s.ttl / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// signOutList is the list of signed-out sessions, kept in the store so that
// every replica refuses a session once it is signed out.
//
// A sign-out is a secret in the handler's sign-out scope (project
// Options.SignOutProject, environment "sessions") whose key holds the
// session's expiry and a hash of its id, S<unix>_<HEX>: never the id itself.
// The handler that serves a sign-out refuses the session at once; the others
// reread the list's keys (Manager.Keys: names only) at most every
// SignOutRefresh while page sessions use them. Entries past their session's
// expiry are deleted at the next sign-out.
type signOutList struct {
	m       *coffer.Manager // nil: sign-outs stay in this handler
	now     func() time.Time
	refresh time.Duration

	mu      sync.Mutex
	known   map[string]int64 // key → expiry (Unix seconds)
	stale   map[string]bool  // stored keys of expired sessions, to delete
	readAt  time.Time
	hasRead bool
}

// maxStale bounds the expired entries one sign-out deletes.
const maxStale = 256

// signOutActor is the actor of the handler's reads of the sign-out list.
const signOutActor = "cofferhttp"

func newSignOutList(m *coffer.Manager, now func() time.Time) *signOutList {
	return &signOutList{m: m, now: now, refresh: SignOutRefresh, known: map[string]int64{}, stale: map[string]bool{}}
}

func signOutKey(c *sessionClaims) string {
	h := sha256.Sum256([]byte("coffer-session-id/" + c.ID))
	return "S" + strconv.FormatInt(c.Expires, 10) + "_" + strings.ToUpper(hex.EncodeToString(h[:16]))
}

// expiryOf parses the expiry out of a sign-out key.
func expiryOf(key string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, "S")
	if !ok {
		return 0, false
	}
	exp, _, ok := strings.Cut(rest, "_")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	return n, err == nil
}

// contains reports whether the session was signed out.
func (l *signOutList) contains(ctx context.Context, c *sessionClaims) (bool, error) {
	key := signOutKey(c)
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.known[key]; ok {
		return true, nil
	}
	if l.m == nil {
		return false, nil
	}
	now := l.now()
	if l.hasRead && now.Sub(l.readAt) < l.refresh && !now.Before(l.readAt) {
		return false, nil
	}
	keys, err := l.m.Keys(coffer.WithActor(ctx, signOutActor))
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		switch exp, ok := expiryOf(k); {
		case ok && exp > now.Unix():
			l.known[k] = exp
		case len(l.stale) < maxStale:
			l.stale[k] = true
		}
	}
	l.readAt, l.hasRead = now, true
	_, ok := l.known[key]
	return ok, nil
}

// add signs a session out: here at once, in the store for the other
// replicas. It also deletes the entries whose sessions have expired anyway.
func (l *signOutList) add(ctx context.Context, c *sessionClaims, log *slog.Logger) error {
	key := signOutKey(c)
	now := l.now().Unix()
	l.mu.Lock()
	l.known[key] = c.Expires
	var expired []string
	for k, exp := range l.known {
		if exp <= now {
			expired = append(expired, k)
			delete(l.known, k)
		}
	}
	for k := range l.stale {
		expired = append(expired, k)
		delete(l.stale, k)
	}
	l.mu.Unlock()
	if l.m == nil {
		return nil
	}
	_, err := l.m.Create(ctx, coffer.NewSecret{
		Key: key, Value: "signed-out", Type: coffer.TypeGeneric,
		Description: "A signed-out page session (cofferhttp)",
	})
	if err != nil && !errors.Is(err, coffer.ErrAlreadyExists) {
		return err
	}
	for _, k := range expired {
		if err := l.m.Delete(ctx, k); err != nil && !errors.Is(err, coffer.ErrNotFound) {
			log.Warn("deleting an expired sign-out failed", "error", err.Error())
		}
	}
	return nil
}
