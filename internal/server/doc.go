// Package server holds what the two programs serving cofferhttp's handler
// share: examples/server and `coffer serve`. The tokens file's format, the
// session key's encoding, the logs and the http.Server with its limits and
// its draining shutdown are written once, here; each program keeps its own
// flags and its own words to the user.
package server
