//go:build race

package e2e_test

// raceEnabled: the test runs with -race, so the server it starts is built
// with -race too.
const raceEnabled = true
