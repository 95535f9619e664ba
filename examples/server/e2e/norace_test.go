//go:build !race

package e2e_test

// raceEnabled: the test runs without -race, and so does the server.
const raceEnabled = false
