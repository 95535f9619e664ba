// Package e2e drives coffer's Secrets page (package cofferhttp, as
// examples/server serves it) in headless Chromium: the handler runs on
// 127.0.0.1 over a SQLite store that the test seeds and inspects through
// its own Manager.
//
// It is a module of its own so that the browser driver (chromedp) stays out
// of the library's go.mod: an importer of coffer never downloads it. It
// needs Chromium (COFFER_CHROMIUM, from scripts/engines.sh); .ci/run runs it
// with -race:
//
//	bash scripts/engines.sh start && source .engines.env
//	go test -C examples/server/e2e -race ./...
//
// Screenshots of each stage land in examples/server/e2e/testdata/screenshots.
package e2e
