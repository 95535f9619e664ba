// Command vault runs a HashiCorp Vault server for coffer's integration
// tests: Vault's own core, HTTP API and builtin transit secrets engine in
// one process, with in-memory storage. It is built and started by
// scripts/engines.sh, which points the hashivault keeper tests at it.
//
// At start it initializes Vault with one unseal key, unseals it, mounts the
// transit engine at transit/ and KV version 2 at secret/ (as `vault server
// -dev` does; scripts/loadtest measures coffer's HTTP API against it), and
// writes the root token (random, new each start) to the file named by
// -token-file, mode 0600. Only then does it open its port, so a client that
// can connect finds both engines ready. It binds
// to loopback only and keeps nothing on disk.
//
// It lives in a module of its own so that importers of coffer never
// download Vault. Vault is BUSL-1.1 (its api and sdk modules are MPL-2.0);
// this program is built only to test against and is never shipped.
//
// Vault 1.21.2 is the newest release that builds as a dependency: the
// go.mod of 1.21.3 and 1.21.4 requires an sdk version that was never
// published (inside Vault's own tree a replace directive points at ./sdk).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	kv "github.com/hashicorp/vault-plugin-secrets-kv"
	"github.com/hashicorp/vault/builtin/logical/transit"
	"github.com/hashicorp/vault/helper/testhelpers/corehelpers"
	vaulthttp "github.com/hashicorp/vault/http"
	"github.com/hashicorp/vault/internalshared/configutil"
	"github.com/hashicorp/vault/sdk/logical"
	"github.com/hashicorp/vault/sdk/physical/inmem"
	"github.com/hashicorp/vault/vault"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8210", "address to listen on (loopback only)")
	tokenFile := flag.String("token-file", "", "file to write the root token to (required)")
	flag.Parse()
	if *tokenFile == "" {
		log.Fatal("vault: -token-file is required")
	}
	if err := run(*addr, *tokenFile); err != nil {
		log.Fatalf("vault: %v", err)
	}
}

func run(addr, tokenFile string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %s is not a loopback address", addr)
	}
	logger := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: hclog.Warn, Output: os.Stderr})
	storage, err := inmem.NewInmem(nil, logger)
	if err != nil {
		return err
	}
	core, err := vault.NewCore(&vault.CoreConfig{
		Physical:        storage,
		LogicalBackends: map[string]logical.Factory{"transit": transit.Factory, "kv": kv.Factory},
		DisableMlock:    true,
		Logger:          logger,
		BuiltinRegistry: corehelpers.NewMockBuiltinRegistry(),
	})
	if err != nil {
		return fmt.Errorf("new core: %w", err)
	}
	ctx := context.Background()
	init, err := core.Initialize(ctx, &vault.InitParams{
		BarrierConfig: &vault.SealConfig{SecretShares: 1, SecretThreshold: 1, StoredShares: 1},
	})
	if err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	if len(init.SecretShares) != 1 {
		return fmt.Errorf("initialize: %d unseal keys, want 1", len(init.SecretShares))
	}
	if unsealed, err := core.Unseal(init.SecretShares[0]); err != nil || !unsealed {
		return fmt.Errorf("unseal: sealed=%v, %v", !unsealed, err)
	}
	handler := vaulthttp.Handler.Handler(&vault.HandlerProperties{
		Core:           core,
		ListenerConfig: &configutil.Listener{Address: host},
	})
	if err := mount(handler, init.RootToken, "transit", `{"type":"transit"}`); err != nil {
		return err
	}
	// KV version 2 at secret/, as `vault server -dev` mounts it: the
	// baseline of coffer's HTTP load test (scripts/loadtest).
	if err := mount(handler, init.RootToken, "secret", `{"type":"kv","options":{"version":"2"}}`); err != nil {
		return err
	}
	if err := os.WriteFile(tokenFile, []byte(init.RootToken+"\n"), 0o600); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-stop
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("vault: serving on %s with transit/ and secret/ (KV v2) mounted", addr)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// mount mounts a secrets engine at path/ through Vault's own HTTP API,
// before the port opens, so no request reaches the network. Waiting for the
// core to become active is part of it.
func mount(handler http.Handler, token, path, config string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req := httptest.NewRequest(http.MethodPost, "/v1/sys/mounts/"+path, strings.NewReader(config))
		req.Header.Set("X-Vault-Token", token)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code == http.StatusNoContent || rec.Code == http.StatusOK {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mount %s: %d %s", path, rec.Code, strings.TrimSpace(rec.Body.String()))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
