package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"runtime"

	"github.com/coffer-go/coffer"
	"gocloud.dev/secrets/localsecrets"
)

// Environment variables the command reads.
const (
	envStore     = "COFFER_STORE_URL"
	envKeeper    = "COFFER_KEEPER_URL"
	envProject   = "COFFER_PROJECT"
	envEnv       = "COFFER_ENV"
	envNewKeeper = "COFFER_NEW_KEEPER_URL"
)

// Files of the default setup, in coffer/ under the user's config directory.
const (
	defaultStoreFile = "coffer.db"
	defaultKeyFile   = "keeper.key"
)

// config is where the command's secrets live.
type config struct {
	storeURL, keeperURL string
	project, env        string
	// defaultStore is the SQLite file of the default setup, or "".
	defaultStore string
}

// config resolves the configuration: a flag, else its environment
// variable, else the default. It creates nothing.
func (a *app) config() (config, error) {
	c := config{
		storeURL:  firstOf(a.store, os.Getenv(envStore)),
		keeperURL: os.Getenv(envKeeper),
		project:   firstOf(a.project, os.Getenv(envProject)),
		env:       firstOf(a.env, os.Getenv(envEnv)),
	}
	if c.storeURL == "" {
		dir, err := defaultDir()
		if err != nil {
			return config{}, err
		}
		c.defaultStore = filepath.Join(dir, defaultStoreFile)
		c.storeURL = "sqlite://" + filepath.ToSlash(c.defaultStore)
		if filepath.IsAbs(c.defaultStore) && c.storeURL[len("sqlite://")] != '/' {
			c.storeURL = "sqlite:///" + filepath.ToSlash(c.defaultStore) // Windows: C:/...
		}
	} else if c.keeperURL == "" {
		return config{}, fmt.Errorf("%s is not set: a store chosen with --store or %s needs the keeper its secrets are sealed with", envKeeper, envStore)
	}
	return c, nil
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// defaultDir is coffer/ in the user's config directory.
func defaultDir() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("no store configured and no config directory for the default one (%v); set %s and %s", err, envStore, envKeeper)
	}
	return filepath.Join(dir, "coffer"), nil
}

// open opens the configured Manager, with audit events to auditLog (nil:
// none). With the default setup it first makes the store's directory and
// key file when they are missing, and says so.
func (a *app) open(ctx context.Context, auditLog *slog.Logger) (*coffer.Manager, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if c.keeperURL == "" {
		if c.keeperURL, err = a.defaultKeeper(c.defaultStore); err != nil {
			return nil, err
		}
	}
	return coffer.Open(ctx, c.storeURL, c.keeperURL, &coffer.Options{Project: c.project, Environment: c.env, AuditLog: auditLog})
}

// defaultKeeper returns the keeper URL of the key file beside the default
// store at storePath, generating the file (mode 600) on first use.
func (a *app) defaultKeeper(storePath string) (string, error) {
	dir := filepath.Dir(storePath)
	keyPath := filepath.Join(dir, defaultKeyFile)
	key, err := readKeyFile(keyPath)
	if err == nil {
		return "base64key://" + key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if _, err := os.Stat(storePath); err == nil {
		// A new key would make the existing store unreadable.
		return "", fmt.Errorf("the store %s exists but its key file %s is missing: restore the key file, or set %s to the keeper the store is sealed with", storePath, keyPath, envKeeper)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create the default store's directory: %w", err)
	}
	created, err := createKeyFile(keyPath)
	if err != nil {
		return "", err
	}
	if created {
		fmt.Fprintf(a.stderr, "coffer: first run: created a SQLite store at %s\n", storePath)
		fmt.Fprintf(a.stderr, "coffer: its values are sealed under a new key in %s (mode 600); back it up: without it they cannot be read\n", keyPath)
	}
	key, err = readKeyFile(keyPath)
	if err != nil {
		return "", err
	}
	return "base64key://" + key, nil
}

// readKeyFile reads a key file, refusing one others may read or write.
func readKeyFile(path string) (string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	// Windows keeps access in ACLs, not in these bits.
	if perm := info.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return "", fmt.Errorf("key file %s is open to other users (mode %04o): run chmod 600 %s", path, perm, path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	key := string(bytes.TrimSpace(b))
	if k, err := base64.URLEncoding.DecodeString(key); err != nil || len(k) != 32 {
		return "", fmt.Errorf("key file %s does not hold a coffer key (URL-safe base64 of 32 bytes)", path)
	}
	return key, nil
}

// createKeyFile writes a new random key to path unless a file is there
// already (another coffer won the race): it reports whether it wrote one.
// The key is written in full before the name appears.
func createKeyFile(path string) (bool, error) {
	k, err := localsecrets.NewRandomKey()
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keeper-*.tmp") // mode 600
	if err != nil {
		return false, fmt.Errorf("create the key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(base64.URLEncoding.EncodeToString(k[:]) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return false, fmt.Errorf("write the key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("create the key file: %w", err)
	}
	return true, nil
}

// actor names who runs the command, for CreatedBy and UpdatedBy.
func actor() string {
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "coffer"
}
