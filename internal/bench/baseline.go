package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime/pprof"
	"sync"
	"time"
)

// baseline measures a plain Go HTTP client delivering the run's records to the receiver: the same
// bodies the webhook gets (one record per POST, or a JSON array of cfg.Batch records), sent by
// cfg.Connections workers over keep-alive connections. A failed request is sent again at once. A
// record counts as accepted when a worker takes it.
func (r *runner) baseline(ctx context.Context, url string) (*Phase, error) {
	n, conns := r.cfg.Records, r.cfg.Connections
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 90 * time.Second}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	linger := time.Duration(0)
	if r.cfg.Batch > 1 {
		linger = r.cfg.BatchLatency
	}

	ph := &Phase{Name: "baseline", Records: n}
	s := newPhaseState("baseline", n, r.recv.Begin(n), true)
	s.expected.Store(int64(n))
	if r.cfg.BaselineCPUProfile != nil {
		if err := pprof.StartCPUProfile(r.cfg.BaselineCPUProfile); err != nil {
			return nil, fmt.Errorf("CPU profile of the baseline: %w", err)
		}
	}
	m := r.startMeter()
	stopWatch := r.watch(s, m)
	feedCtx, stopFeed := context.WithCancel(ctx) // ends the feed if every worker gives up
	defer stopFeed()
	ch := feed(feedCtx, n, r.cfg.Rate)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			var seqs []int
			var body []byte
			for {
				seqs = collect(ctx, ch, seqs, r.cfg.Batch, linger)
				if len(seqs) == 0 {
					return
				}
				s.accept(seqs, r.now())
				body = r.batchBody(body[:0], seqs)
				if err := post(ctx, client, url, body); err != nil {
					s.fail(len(seqs), err)
					return
				}
			}
		})
	}
	wg.Wait()
	err := r.waitDelivered(ctx, s.tally, n)
	if r.cfg.BaselineCPUProfile != nil {
		pprof.StopCPUProfile()
	}
	stopWatch()
	r.finish(ph, s, m)
	return ph, err
}

// batchBody appends the webhook body of the records seqs: one record as it is, several as the
// built-in batch policy sends them (a JSON array of the bodies).
func (r *runner) batchBody(dst []byte, seqs []int) []byte {
	if r.cfg.Batch <= 1 {
		return r.gen.Body(dst, seqs[0])
	}
	dst = append(dst, '[')
	for i, seq := range seqs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.gen.Body(dst, seq)
	}
	return append(dst, ']')
}

// post sends body until the receiver accepts it.
func post(ctx context.Context, client *http.Client, url string, body []byte) error {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode/100 == 2:
				return nil
			case resp.StatusCode/100 != 5 && resp.StatusCode != http.StatusTooManyRequests:
				return fmt.Errorf("the receiver answered %s", resp.Status)
			}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			time.Sleep(10 * time.Millisecond) // a transport error: do not spin
		}
	}
}
