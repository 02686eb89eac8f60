package offheap

import (
	"runtime"
	"testing"
	"unsafe"
)

type plain struct {
	id  [16]byte
	n   uint32
	due int64
}

func TestMakeAndFree(t *testing.T) {
	for _, n := range []int{0, 1, 100, 1 << 16, 1 << 20} {
		s, err := Make[plain](n)
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != n {
			t.Fatalf("len %d, want %d", len(s), n)
		}
		for i := range s {
			if s[i] != (plain{}) {
				t.Fatalf("%d values: value %d not zero", n, i)
			}
			s[i].n = uint32(i)
		}
		runtime.GC() // mapped memory must survive a collection untouched
		for i := range s {
			if s[i].n != uint32(i) {
				t.Fatalf("%d values: value %d changed to %d", n, i, s[i].n)
			}
		}
		Free(s)
	}
}

// Mapped memory does not count toward the Go heap.
func TestOutsideTheHeap(t *testing.T) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s := MustMake[plain](1 << 20) // 32 MiB
	for i := range s {
		s[i].n = 1
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 4<<20 {
		t.Errorf("the Go heap grew by %d MiB for 32 MiB made off the heap", grown>>20)
	}
	Free(s)
}

func TestPointersRefused(t *testing.T) {
	if _, err := Make[*int](10); err == nil {
		t.Fatal("a pointer type was accepted")
	}
	if _, err := Make[struct{ s []byte }](10); err == nil {
		t.Fatal("a struct holding a slice was accepted")
	}
	if _, err := Make[[4]string](10); err == nil {
		t.Fatal("an array of strings was accepted")
	}
}

// Free of a slice that came from the Go heap (a small one) does nothing harmful.
func TestFreeHeapSlice(t *testing.T) {
	s := MustMake[plain](4)
	Free(s)
	Free([]plain(nil))
	big := make([]plain, 1<<16) // not from Make: Munmap refuses it
	Free(big)
	big[0].n = 7
}

// Live counts what Make mapped and Free has not given back; heap slices count for nothing.
func TestLive(t *testing.T) {
	before, beforeBytes := Live(), Bytes()
	small := MustMake[plain](4)
	big := MustMake[plain](1 << 16)
	mapped := Live() - before
	if mapped != 0 && mapped != 1 { // 0 where memory is not mapped
		t.Fatalf("one large and one small slice made: %d mappings", mapped)
	}
	if want := mapped * int64(unsafe.Sizeof(plain{})) << 16; Bytes()-beforeBytes != want {
		t.Fatalf("Bytes grew by %d, want %d", Bytes()-beforeBytes, want)
	}
	Free(small)
	Free(make([]plain, 1<<16)) // not from Make: not counted
	if Live()-before != mapped {
		t.Fatalf("freeing slices from the Go heap changed the count to %d", Live()-before)
	}
	Free(big)
	if Live() != before || Bytes() != beforeBytes {
		t.Fatalf("%d mappings (%d bytes) left after Free", Live()-before, Bytes()-beforeBytes)
	}
}
