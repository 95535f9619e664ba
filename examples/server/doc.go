// Command server is a runnable main over package cofferhttp: the Secrets
// page and its JSON API over a coffer Manager, served on 127.0.0.1. Teams
// wrapping coffer in their own service import cofferhttp instead; `coffer
// serve` (cmd/coffer) serves the same handler over the command's store,
// reading the same tokens file.
//
//	go run ./examples/server
//
// It prints its address and a generated admin token. Open the address and
// sign in with the token, or call the API with "Authorization: Bearer TOKEN".
//
// # Configuration
//
// Flags override the environment:
//
//	-addr          COFFER_SERVER_ADDR   listen address (default 127.0.0.1:8080)
//	-store         COFFER_STORE_URL     collection URL (default mem://server: in memory)
//	-project       COFFER_PROJECT       project (default "default")
//	-environments  COFFER_ENVIRONMENTS  comma-separated; the first is the default
//	                                    (default development,staging,production)
//	-tokens        COFFER_SERVER_TOKENS_FILE
//	                                    a JSON file of further tokens with roles:
//	                                    [{"name": "ci", "secret": "...", "role": "reader",
//	                                      "environments": ["production"]}, ...]
//	-cpuprofile                         write a CPU profile of the run (load tests)
//	               COFFER_KEEPER_URL    keeper URL (default: a random key for this run)
//	               COFFER_SERVER_TOKEN  the admin token, named "admin", at least 16 bytes
//	                                    (default, when no tokens file is given either:
//	                                    generated and printed at start)
//	               COFFER_SESSION_KEY   base64 of 32 bytes that sign page sessions; give
//	                                    replicas over one store the same key
//	                                    (default: random, sessions end with the process)
//
// The keeper URL, the tokens and the session key come only from the
// environment or a file, because flags show in process listings. None of
// them, nor the store URL, is ever printed or logged; the admin token is
// printed only when the server generated it. Audit events (the Manager's
// and the handler's) and one line per request go to stderr as JSON.
//
// The API, the roles, sessions across replicas and the security headers
// are cofferhttp's: see its package documentation.
package main
