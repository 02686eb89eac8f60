package queue

import (
	"runtime"

	"github.com/hookd/hookd/internal/offheap"
)

// entryHeap orders scheduled entries by due time, then by scheduling order (container/heap).
type entryHeap []entry

func (h entryHeap) Len() int { return len(h) }

func (h entryHeap) Less(i, j int) bool {
	a, b := &h[i], &h[j]
	if a.due == b.due {
		return int32(a.seq-b.seq) < 0 // first in, first out; correct across wrap-around
	}
	return a.due < b.due
}

func (h entryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }

func (h *entryHeap) Push(x any) { *h = append(*h, x.(entry)) }

func (h *entryHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	*h = old[:n-1]
	return e
}

// fifo holds the ready entries in fixed blocks: it grows a block at a time, so a queue of a million
// entries never holds a second, doubled copy of itself while growing, and it hands blocks back as it
// drains. A short queue (most of them) keeps one small block on the Go heap that doubles up to half
// a block; past that every block is a full one mapped outside the Go heap (internal/offheap), where
// the collector neither scans it nor counts it toward its goal, which would otherwise let the heap
// grow by as much again as the queued entries take. Mapped blocks are freed as the fifo drains, and
// by a cleanup once the fifo (its queue core) is unreachable.
type fifo struct {
	blocks [][]entry // each fifoBlock long but for a lone small first block; the entries run from blocks[0][head] for n entries
	head   int
	n      int
	room   int        // entry slots from blocks[0][0] to the end of the last block
	spare  []entry    // a full block emptied at the head, kept for the next growth while entries remain
	owner  *fifoOwner // nil until the fifo first maps a block
}

const (
	fifoBlock = 2048 // entries per full block: 64 KiB, large enough to be mapped by offheap
	fifoFirst = 16   // entries in a new fifo's first block
	fifoSmall = fifoBlock / 2
)

// fifoOwner carries the cleanup that frees a dropped fifo's mapped blocks. The blocks themselves
// are listed apart, in fifoMapped, so that the cleanup's argument does not keep the owner reachable.
type fifoOwner struct{ mapped *fifoMapped }

// fifoMapped mirrors the fifo's blocks and spare: what its cleanup frees. A small first block in
// blocks is on the Go heap, and offheap.Free leaves it to the collector.
type fifoMapped struct {
	blocks [][]entry
	spare  []entry
}

func (m *fifoMapped) free() {
	for _, b := range m.blocks {
		offheap.Free(b)
	}
	offheap.Free(m.spare)
	*m = fifoMapped{}
}

func (q *fifo) len() int { return q.n }

func (q *fifo) at(i int) entry {
	i += q.head
	return q.blocks[i/fifoBlock][i%fifoBlock]
}

// block returns a full block: the spare, or a new mapped one.
func (q *fifo) block() []entry {
	if b := q.spare; b != nil {
		q.spare = nil
		return b
	}
	if q.owner == nil {
		q.owner = &fifoOwner{mapped: new(fifoMapped)}
		runtime.AddCleanup(q.owner, (*fifoMapped).free, q.owner.mapped)
	}
	return offheap.MustMake[entry](fifoBlock)
}

// mirror tells the owner which blocks the fifo holds now; called after every change of blocks or
// spare (entries written into a block change neither).
func (q *fifo) mirror() {
	if q.owner != nil {
		*q.owner.mapped = fifoMapped{blocks: q.blocks, spare: q.spare}
	}
}

// small reports whether the fifo is a lone small first block.
func (q *fifo) small() bool { return len(q.blocks) == 1 && len(q.blocks[0]) < fifoBlock }

func (q *fifo) push(e entry) {
	if q.head+q.n == q.room {
		q.grow()
	}
	end := q.head + q.n
	q.blocks[end/fifoBlock][end%fifoBlock] = e
	q.n++
}

// grow makes room for one more entry at the tail of a full fifo.
func (q *fifo) grow() {
	switch {
	case len(q.blocks) == 0:
		q.blocks = append(q.blocks, make([]entry, fifoFirst))
		q.room = fifoFirst
	case q.small() && q.room < fifoSmall:
		q.blocks[0] = append(q.blocks[0], make([]entry, q.room)...)
		q.room *= 2
	case q.small():
		full := q.block() // the small block is outgrown: its entries move to a full one
		copy(full, q.blocks[0][q.head:])
		q.blocks[0], q.head, q.room = full, 0, fifoBlock
	default:
		q.blocks = append(q.blocks, q.block())
		q.room += fifoBlock
	}
	q.mirror()
}

// pushFront puts e back at the head (a batch handed back).
func (q *fifo) pushFront(e entry) {
	switch {
	case q.head > 0:
	case len(q.blocks) == 0:
		q.blocks = append(q.blocks, make([]entry, fifoFirst))
		q.head, q.room = fifoFirst, fifoFirst
		q.mirror()
	case q.small() && q.n < fifoSmall:
		// The entries move to the end of the small block, doubled first if they fill it.
		b := q.blocks[0]
		if q.n == q.room {
			b = make([]entry, 2*q.room)
		}
		q.head = len(b) - q.n
		copy(b[q.head:], q.blocks[0][:q.n])
		q.blocks[0], q.room = b, len(b)
		q.mirror()
	case q.small():
		// An outgrown small block becomes a full one with its entries at the end.
		full := q.block()
		q.head = fifoBlock - q.n
		copy(full[q.head:], q.blocks[0][:q.n])
		q.blocks[0], q.room = full, fifoBlock
		q.mirror()
	default:
		q.blocks = append([][]entry{q.block()}, q.blocks...)
		q.head = fifoBlock
		q.room += fifoBlock
		q.mirror()
	}
	q.head--
	q.blocks[0][q.head] = e
	q.n++
}

func (q *fifo) pop() entry {
	e := q.blocks[0][q.head]
	q.head++
	q.n--
	if q.head == fifoBlock || q.n == 0 {
		q.shrink()
	}
	return e
}

// shrink hands back the head block once the head has passed it, or every block once the fifo is empty.
func (q *fifo) shrink() {
	if q.n == 0 {
		// A drained queue holds no memory: thousands of idle queues stay small. The owner stays,
		// for the next time the queue grows.
		for _, b := range q.blocks {
			offheap.Free(b)
		}
		offheap.Free(q.spare)
		*q = fifo{owner: q.owner}
	} else {
		offheap.Free(q.spare) // one spare is enough
		q.spare = q.blocks[0]
		q.blocks[0] = nil
		q.blocks, q.head, q.room = q.blocks[1:], 0, q.room-fifoBlock
	}
	q.mirror()
}
