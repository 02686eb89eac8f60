package queue

// itemHeap orders scheduled items by due time (container/heap).
type itemHeap []*Item

func (h itemHeap) Len() int { return len(h) }

func (h itemHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	if a.Due.Equal(b.Due) {
		return a.seq < b.seq // first in, first out among messages due at the same time
	}
	return a.Due.Before(b.Due)
}

func (h itemHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIndex = i
	h[j].heapIndex = j
}

func (h *itemHeap) Push(x any) {
	it := x.(*Item)
	it.heapIndex = len(*h)
	*h = append(*h, it)
}

func (h *itemHeap) Pop() any {
	old := *h
	n := len(old)
	it := old[n-1]
	old[n-1] = nil
	it.heapIndex = -1
	*h = old[:n-1]
	return it
}

// fifo is a growable ring of ready items.
type fifo struct {
	buf  []*Item
	head int
	n    int
}

func (q *fifo) len() int { return q.n }

func (q *fifo) push(it *Item) {
	if q.n == len(q.buf) {
		grown := make([]*Item, max(16, 2*len(q.buf)))
		for i := 0; i < q.n; i++ {
			grown[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = grown, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = it
	q.n++
}

func (q *fifo) pop() *Item {
	it := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return it
}
