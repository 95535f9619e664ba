// Command coffer manages a project's secrets from a terminal or CI: set them
// from a pipe or a prompt, list them (never their values), import and export
// .env files, and run programs with the secrets in their environment.
//
//	coffer set STRIPE_API_KEY < key.txt
//	coffer list
//	coffer run --require STRIPE_API_KEY -- ./app
//
// Configuration comes from global flags or the environment: --store
// (COFFER_STORE_URL), --project (COFFER_PROJECT), --env (COFFER_ENV). The
// keeper URL comes only from COFFER_KEEPER_URL: it may hold key material, and
// a flag would show it in process listings. With neither a store nor a keeper
// configured, the first command creates a SQLite store and a generated key
// file (mode 600) in the user's config directory (coffer/ under
// $XDG_CONFIG_HOME or ~/.config on Linux) and says where, once.
//
// Values never come from an argument (shell history, process listings): they
// come from standard input (a prompt without echo on a terminal; one trailing
// newline removed from a pipe), from --generate N, or from --file PATH.
// Only reveal and export print values; no message or error holds one.
//
// coffer serve runs the Secrets page and its API (package cofferhttp) over the
// same store, on 127.0.0.1:8080 by default, with access tokens from
// COFFER_SERVER_TOKEN and a tokens file, never from a flag; 'coffer help
// serve' says how.
//
// # Exit status
//
//	0  success
//	1  failure: the command ran and could not do its job, or check found problems
//	2  usage: unknown command or flag, wrong arguments
//
// run exits with its program's status (128+N when a signal N ended it).
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
