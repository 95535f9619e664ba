//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Several first commands at once: one key file is made, every command uses
// it, and exactly one says where.
func TestFirstRunRace(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	config := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COFFER_") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			env = append(env, kv)
		}
	}
	env = append(env, "XDG_CONFIG_HOME="+config)
	const n = 6
	stderr := make([]bytes.Buffer, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			cmd := &exec.Cmd{Path: exe, Args: []string{"coffer", "list"}, Env: env, Stderr: &stderr[i]}
			errs[i] = cmd.Run()
		})
	}
	wg.Wait()
	said := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("command %d: %v: %s", i, errs[i], stderr[i].String())
		}
		if strings.Contains(stderr[i].String(), "first run: created a SQLite store") {
			said++
		}
	}
	if said != 1 {
		t.Errorf("%d commands said they created the store, want exactly 1", said)
	}
	key := filepath.Join(config, "coffer", defaultKeyFile)
	info, err := os.Stat(key)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %04o, want 0600", info.Mode().Perm())
	}
	left, _ := filepath.Glob(filepath.Join(config, "coffer", ".keeper-*"))
	if len(left) > 0 {
		t.Errorf("temporary key files left: %v", left)
	}
}
