package coffer

import "hash/maphash"

// SetResealBeforeWrite makes Reseal call f between each batch's read and its
// write, until the returned function is called.
func SetResealBeforeWrite(f func()) (restore func()) {
	resealBeforeWrite = f
	return func() { resealBeforeWrite = nil }
}

// SetFoldHashCollide makes Check hash every key's fold to one value, as if
// every fold collided, until the returned function is called.
func SetFoldHashCollide() (restore func()) {
	foldHashFunc = func(maphash.Seed, string) uint64 { return 0 }
	return func() { foldHashFunc = foldHash }
}

// ConditionalDeletes is how many times Delete deletes under the revision it
// read before it deletes without one.
const ConditionalDeletes = conditionalDeletes

// SetMaxKeptListing sets the most secrets a kept listing holds, until the
// returned function is called.
func SetMaxKeptListing(n int) (restore func()) {
	old := maxKeptListing
	maxKeptListing = n
	return func() { maxKeptListing = old }
}
