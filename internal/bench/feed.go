package bench

import (
	"context"
	"time"
)

// feed hands out the sequence numbers 0..n-1, at rate per second (0: as fast as they are taken).
// The channel is closed after the last one, or when ctx ends.
func feed(ctx context.Context, n int, rate float64) <-chan int {
	ch := make(chan int, 256)
	go func() {
		defer close(ch)
		start := time.Now()
		for seq := range n {
			if rate > 0 {
				due := start.Add(time.Duration(float64(seq) / rate * float64(time.Second)))
				if wait := time.Until(due); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-t.C:
					}
				}
			}
			select {
			case ch <- seq:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch
}

// collect takes the next batch of at most max sequence numbers from ch into buf: it waits for the
// first, then takes what is ready, waiting up to linger for the batch to fill. An empty batch means
// ch is closed (or ctx ended).
func collect(ctx context.Context, ch <-chan int, buf []int, max int, linger time.Duration) []int {
	buf = buf[:0]
	select {
	case seq, ok := <-ch:
		if !ok {
			return buf
		}
		buf = append(buf, seq)
	case <-ctx.Done():
		return buf
	}
	var deadline <-chan time.Time
	for len(buf) < max {
		select {
		case seq, ok := <-ch:
			if !ok {
				return buf
			}
			buf = append(buf, seq)
			continue
		default:
		}
		if linger <= 0 {
			return buf
		}
		if deadline == nil {
			t := time.NewTimer(linger)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case seq, ok := <-ch:
			if !ok {
				return buf
			}
			buf = append(buf, seq)
		case <-deadline:
			return buf
		case <-ctx.Done():
			return buf
		}
	}
	return buf
}
