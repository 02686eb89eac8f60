package queue

import (
	"testing"
	"time"

	"github.com/hookd/hookd/message"
)

// BenchmarkInsertDeliver is a message's whole life in the core: inserted, handed to a session,
// delivered, forgotten. Sessions answer at once, so the core's own cost is what is measured.
func BenchmarkInsertDeliver(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(map[int]string{1: "batch=1", 100: "batch=100"}[batch], func(b *testing.B) {
			cfg := DefaultConfig()
			cfg.ConnectionLimit, cfg.BatchSize, cfg.Deliverable = 4, batch, true
			c := New(cfg, func() float64 { return 0.5 })
			ids := message.NewIDGen([6]byte{1, 2, 3, 4, 5, 6})
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			var results []Result
			var pending []Action
			b.ReportAllocs()
			for b.Loop() {
				pending = append(pending[:0], c.Insert(Item{ID: ids.New(now)}, now)...)
				for len(pending) > 0 {
					a := pending[0]
					pending = pending[1:]
					var sess SessionID
					var items []Item
					switch a := a.(type) {
					case Start:
						sess, items = a.Session, a.Batch
					case Deliver:
						sess, items = a.Session, a.Batch
					default:
						continue
					}
					results = results[:0]
					for _, it := range items {
						results = append(results, Result{ID: it.ID, Disposition: Delivered})
					}
					pending = append(pending, c.Finished(sess, results, false, now)...)
				}
			}
			if c.Len() > batch {
				b.Fatalf("%d messages left in the core", c.Len())
			}
		})
	}
}
