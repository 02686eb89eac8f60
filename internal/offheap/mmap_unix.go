//go:build unix

package offheap

import "syscall"

func mapMemory(size int) ([]byte, error) {
	return syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
}

func unmapMemory(mem []byte) {
	// Munmap fails only for a range that was not mapped, which Free's contract excludes.
	_ = syscall.Munmap(mem)
}
