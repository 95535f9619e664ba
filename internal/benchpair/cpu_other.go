//go:build !linux

package benchpair

import "time"

// threadCPU reports that this platform does not tell a thread's CPU time.
func threadCPU() (time.Duration, bool) { return 0, false }
