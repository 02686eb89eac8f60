// Package offheap allocates large slices of pointer-free values outside the Go heap.
//
// hookd's biggest long-lived structures — the spool's index of live messages and the queues' ready
// lists — hold tens of bytes per queued message and no pointers. On the Go heap they count toward
// the collector's goal, which lets the heap grow to twice what is live before the next collection:
// a node holding a million queued messages would peak at twice their size for nothing, since the
// collector has nothing to scan in them. Memory from here is mapped from the operating system
// directly, is not scanned or counted by the collector, and must be given back with Free.
//
// Only types without pointers may live here (the collector would not see what they point to);
// Make checks that. Where mapping memory is not possible, Make falls back to the Go heap and Free
// does nothing, so callers need no second path.
package offheap

import (
	"fmt"
	"reflect"
	"sync/atomic"
	"unsafe"
)

// Make returns a zeroed slice of n values of T. It fails for a T that holds pointers.
func Make[T any](n int) ([]T, error) {
	if hasPointers(reflect.TypeFor[T]()) {
		return nil, fmt.Errorf("offheap: %s holds pointers", reflect.TypeFor[T]())
	}
	var zero T
	size := int(unsafe.Sizeof(zero)) * n
	if n <= 0 || size < minMapped {
		return make([]T, n), nil
	}
	mem, err := mapMemory(size)
	if err != nil || mem == nil {
		return make([]T, n), nil
	}
	live.Add(1)
	mapped.Add(int64(size))
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(mem))), n), nil
}

// MustMake is Make for a type known to be pointer-free.
func MustMake[T any](n int) []T {
	s, err := Make[T](n)
	if err != nil {
		panic(err) // a programming error: the type is fixed at compile time
	}
	return s
}

// Free gives back a slice from Make; s must not be used afterwards. Slices that came from the Go
// heap are left to the collector.
func Free[T any](s []T) {
	var zero T
	size := int(unsafe.Sizeof(zero)) * cap(s)
	if size < minMapped || cap(s) == 0 {
		return
	}
	if unmapMemory(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s[:cap(s)]))), size)) {
		live.Add(-1)
		mapped.Add(-int64(size))
	}
}

// live counts the mappings made and not yet freed; mapped is their bytes.
var live, mapped atomic.Int64

// Live is the number of slices mapped by Make and not yet given back with Free: for tests that
// check their owners free what they map.
func Live() int64 { return live.Load() }

// Bytes is the memory mapped by Make and not yet given back: what the process holds outside the Go
// heap, which the collector neither counts nor sees.
func Bytes() int64 { return mapped.Load() }

// minMapped is the smallest allocation mapped from the system; smaller ones stay on the Go heap,
// where a page of their own would waste more than the collector's goal costs.
const minMapped = 64 << 10

func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}
