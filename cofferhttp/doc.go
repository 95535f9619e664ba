// Package cofferhttp serves coffer's Secrets page and its JSON API as an
// http.Handler a team mounts in its own service.
package cofferhttp
