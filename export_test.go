package coffer

// SetResealBeforeWrite makes Reseal call f between each batch's read and its
// write, until the returned function is called.
func SetResealBeforeWrite(f func()) (restore func()) {
	resealBeforeWrite = f
	return func() { resealBeforeWrite = nil }
}
