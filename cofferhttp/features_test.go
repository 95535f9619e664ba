package cofferhttp

import (
	"net/http"
	"testing"
)

// extraMatrixEndpoints are the matrix's endpoints of the versions and check
// APIs.
func extraMatrixEndpoints(q func(string) func(string) string) []matrixEndpoint {
	return nil
}

// seedExtra prepares what extraMatrixEndpoints need.
func seedExtra(t *testing.T, f *fixture) {}

// extraCanaryRequests are the canary requests of the versions and check APIs.
func extraCanaryRequests(canary string, s pageSession) []*http.Request { return nil }
