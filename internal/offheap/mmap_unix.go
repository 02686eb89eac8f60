//go:build unix

package offheap

import "syscall"

func mapMemory(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

// unmapMemory reports whether mem was a mapping and is now gone. syscall.Munmap refuses a slice
// that syscall.Mmap did not return (one from the Go heap), which Free's contract excludes anyway.
func unmapMemory(mem []byte) bool { return syscall.Munmap(mem) == nil }
