//go:build !unix

package main

import "os"

// forwarded are the signals run passes on to its program.
var forwarded = []os.Signal{os.Interrupt}

// keyboardInterrupt: a console's Ctrl-C reaches every process attached to
// it, so coffer passes none on.
func keyboardInterrupt(any) bool { return true }
