package queue

import "testing"

// BenchmarkFifoFillDrain fills a fifo with a million entries and drains it: ns/op is per entry.
func BenchmarkFifoFillDrain(b *testing.B) {
	const n = 1 << 20
	b.ReportAllocs()
	for b.Loop() {
		var q fifo
		for i := range n {
			q.push(entry{due: int64(i)})
		}
		for q.len() > 0 {
			q.pop()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/entry")
}

// BenchmarkFifoSteady keeps a few blocks of entries queued and moves one through per op, so the
// head keeps emptying blocks and the tail keeps needing new ones.
func BenchmarkFifoSteady(b *testing.B) {
	var q fifo
	for i := range 3 * fifoBlock {
		q.push(entry{due: int64(i)})
	}
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		i++
		q.push(entry{due: i})
		q.pop()
	}
}
