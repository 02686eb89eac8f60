package queue

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
// drains. A short queue (most of them) keeps one small block that doubles up to fifoBlock.
type fifo struct {
	blocks [][]entry // each fifoBlock long but for a lone first block; the entries run from blocks[0][head] for n entries
	head   int
	n      int
	spare  []entry // the block last emptied at the head, kept for the next growth while entries remain
}

const (
	fifoBlock = 1024 // entries per block
	fifoFirst = 16   // entries in a new fifo's first block
)

func (q *fifo) len() int { return q.n }

func (q *fifo) at(i int) entry {
	i += q.head
	return q.blocks[i/fifoBlock][i%fifoBlock]
}

func (q *fifo) block() []entry {
	if b := q.spare; b != nil {
		q.spare = nil
		return b
	}
	return make([]entry, fifoBlock)
}

func (q *fifo) push(e entry) {
	end := q.head + q.n
	switch {
	case len(q.blocks) == 1 && len(q.blocks[0]) < fifoBlock:
		if end == len(q.blocks[0]) {
			q.blocks[0] = append(q.blocks[0], make([]entry, len(q.blocks[0]))...)
		}
	case end == len(q.blocks)*fifoBlock:
		if len(q.blocks) == 0 && q.spare == nil {
			q.blocks = append(q.blocks, make([]entry, fifoFirst))
			break
		}
		q.blocks = append(q.blocks, q.block())
	}
	q.blocks[end/fifoBlock][end%fifoBlock] = e
	q.n++
}

// pushFront puts e back at the head (a batch handed back).
func (q *fifo) pushFront(e entry) {
	if q.head == 0 && len(q.blocks) == 1 && len(q.blocks[0]) < fifoBlock {
		// A small block becomes a full one with its entries at the end.
		full := make([]entry, fifoBlock)
		q.head = fifoBlock - q.n
		copy(full[q.head:], q.blocks[0][:q.n])
		q.blocks[0] = full
	}
	if q.head == 0 {
		q.blocks = append([][]entry{q.block()}, q.blocks...)
		q.head = fifoBlock
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
		if q.n == 0 {
			*q = fifo{} // a drained queue holds no memory: thousands of idle queues stay small
		} else {
			q.spare = q.blocks[0]
			q.blocks[0] = nil
			q.blocks, q.head = q.blocks[1:], 0
		}
	}
	return e
}
