package benchpair

import (
	"syscall"
	"time"
	"unsafe"
)

// clockThreadCPUTime is CLOCK_THREAD_CPUTIME_ID, which package syscall
// does not name.
const clockThreadCPUTime = 3

// threadCPU returns the CPU time the calling thread has used. It asks
// clock_gettime, which counts to the nanosecond; getrusage counts a
// running thread's time only at scheduler ticks.
func threadCPU() (time.Duration, bool) {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}
