//go:build unix

package main

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals run passes on to its program.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// keyboardInterrupt reports whether a SIGINT most likely came from the
// terminal's interrupt key: coffer, and so the program it started, is in the
// terminal's foreground process group, which the terminal signals as a
// whole. Passing such a SIGINT on would deliver it to the program twice.
func keyboardInterrupt(stdin any) bool {
	f, ok := stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return false
	}
	fg, err := unix.IoctlGetInt(int(f.Fd()), unix.TIOCGPGRP)
	return err == nil && fg == unix.Getpgrp()
}
