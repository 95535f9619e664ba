// Package vaulttest holds coffer's tests against Vault's transit engine (the
// hashivault:// keeper), in a module of its own so that Vault's API client
// and gocloud.dev/secrets/hashivault stay out of the library's go.mod: an
// importer of coffer never downloads them. The tests run against the Vault
// server scripts/engines.sh starts (COFFER_VAULT_ADDR, VAULT_ADDR,
// VAULT_TOKEN in .engines.env); .ci/run runs them with -race:
//
//	bash scripts/engines.sh start && source .engines.env
//	go test -C internal/vaulttest -race ./...
package vaulttest
