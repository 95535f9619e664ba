// Package benchmarks measures what coffer costs over the store it sits on.
//
// Each benchmark runs coffer's operation beside its baselines, on the same
// collection and document shape (layout.Record), as sub-benchmarks named
// impl=raw (the bare docstore calls the operation needs, with no validation
// or sealing: the floor), impl=coffer, and impl=naive (each value sealed by
// its own keeper call, the design coffer's envelope replaces). scripts/bench
// runs them interleaved and prints benchstat tables with the ratios;
// BENCHMARKS.md records the figures.
//
// Collections come from the stores table and keepers from the keepers
// table in bench_test.go; the awskms keeper runs against local-kms when
// COFFER_KMS_ENDPOINT is set and is skipped otherwise (failed under CI=true).
// The package holds only tests.
package benchmarks
