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

// fifo is a growable ring of ready entries.
type fifo struct {
	buf  []entry
	head int
	n    int
}

func (q *fifo) len() int { return q.n }

func (q *fifo) at(i int) entry { return q.buf[(q.head+i)%len(q.buf)] }

func (q *fifo) push(e entry) {
	if q.n == len(q.buf) {
		grown := make([]entry, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			grown[i] = q.at(i)
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = e
	q.n++
}

// pushFront puts e back at the head (a batch handed back).
func (q *fifo) pushFront(e entry) {
	if q.n == len(q.buf) {
		q.push(e) // grows the ring; e is then moved to the head below
		q.n--
	}
	q.head = (q.head - 1 + len(q.buf)) % len(q.buf)
	q.buf[q.head] = e
	q.n++
}

func (q *fifo) pop() entry {
	e := q.buf[q.head]
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	if q.n == 0 && len(q.buf) > 1024 {
		q.buf, q.head = nil, 0 // give a drained burst's memory back
	}
	return e
}
