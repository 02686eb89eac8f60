//go:build !unix

package offheap

func mapMemory(int) ([]byte, error) { return nil, nil }

func unmapMemory([]byte) bool { return false }
