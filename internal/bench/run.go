package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sync/atomic"
	"time"
)

// Run runs the benchmark that cfg describes: with cfg.Baseline, first the baseline phase (a plain Go
// HTTP client posting the records' webhook bodies to the receiver), then the hookd phase (an engine
// in this process, or the node at cfg.Target), then with cfg.Cluster the cluster phase (that many
// engines in this process as one cluster, offered the same records in turn). The report is returned even when an error ends a
// phase early; it then says how far the phase got.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	epoch := time.Now()
	r := &runner{cfg: cfg, epoch: epoch, gen: NewGenerator(cfg.Seed, cfg.Mix, cfg.Queues, epoch)}
	decodeEvery := max(cfg.DecodeEvery, 0)
	r.recv = NewReceiver(ReceiverConfig{FailRate: cfg.FailRate, Seed: cfg.Seed, DecodeEvery: decodeEvery,
		KeepBodies: cfg.keepBodies}, epoch)
	rep := &Report{Settings: settingsOf(cfg), RecordBytes: r.meanBodyBytes()}

	if cfg.Dead {
		if rep.WebhookURL, err = closedPortURL(); err != nil {
			return nil, err
		}
	} else {
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("receiver: %w", err)
		}
		srv := &http.Server{Handler: r.recv, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		rep.WebhookURL = "http://" + ln.Addr().String() + "/events"
	}

	if cfg.Baseline {
		rep.Baseline, err = r.baseline(ctx, rep.WebhookURL)
		if err != nil {
			return rep, fmt.Errorf("baseline: %w", err)
		}
		runtime.GC()
		debug.FreeOSMemory() // so that the hookd phase's RSS starts from what it needs
	}
	if cfg.Target != "" {
		rep.Hookd, err = r.target(ctx)
	} else {
		rep.Hookd, err = r.inProcess(ctx, rep.WebhookURL)
	}
	if err != nil {
		err = fmt.Errorf("hookd: %w", err)
	} else if cfg.Cluster > 0 {
		runtime.GC()
		debug.FreeOSMemory()
		var members []MemberFigures
		rep.Cluster, members, err = r.cluster(ctx, rep.WebhookURL)
		if rep.Cluster != nil {
			rep.ClusterFigures = clusterFiguresOf(rep.Hookd, rep.Cluster, members)
		}
		if err != nil {
			err = fmt.Errorf("cluster: %w", err)
		}
	}
	// The kernel updates VmHWM lazily: a sample taken during a phase may be higher.
	rep.ProcessPeakRSS = peakRSS()
	for _, ph := range []*Phase{rep.Baseline, rep.Hookd, rep.Cluster} {
		if ph != nil {
			rep.ProcessPeakRSS = max(rep.ProcessPeakRSS, ph.PeakRSS)
		}
	}
	if rep.Baseline != nil && rep.Hookd != nil {
		rep.Ratio = ratioOf(rep.Hookd, rep.Baseline)
	}
	return rep, err
}

// runner holds what the phases of one run share.
type runner struct {
	cfg   Config
	epoch time.Time
	gen   *Generator
	recv  *Receiver
}

// now is the time since the run's epoch in nanoseconds, on the monotonic clock.
func (r *runner) now() int64 { return max(time.Since(r.epoch).Nanoseconds(), 1) }

// meanBodyBytes is the mean size of a webhook body of one record, over the first thousand records.
func (r *runner) meanBodyBytes() float64 {
	n := min(r.cfg.Records, 1000)
	total := 0
	var buf []byte
	for seq := range n {
		buf = r.gen.Body(buf[:0], seq)
		total += len(buf)
	}
	return float64(total) / float64(n)
}

// closedPortURL returns a loopback URL nothing listens on: a port taken and released.
func closedPortURL() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/events", nil
}

// meter measures one phase: wall time, CPU time and the peak resident set.
type meter struct {
	r       *runner
	startNs int64
	cpu0    time.Duration
	rss0    int64
	rss     *rssSampler
}

func (r *runner) startMeter() *meter {
	cpu, _ := rusage()
	return &meter{r: r, startNs: r.now(), cpu0: cpu, rss0: currentRSS(), rss: sampleRSS(50 * time.Millisecond)}
}

// phaseState is what the workers of a phase update as they go.
type phaseState struct {
	name      string
	records   int
	accepted  []int64 // when record seq was accepted, ns since the epoch; 0 = not accepted; nil: not timed
	nAccepted atomic.Int64
	lastAcc   atomic.Int64 // when the latest acceptance was noted, ns since the epoch
	expected  atomic.Int64 // -1 until known
	errors    atomic.Int64
	firstErr  atomic.Pointer[error]
	tally     *Tally
	queued    func() int64
}

// newPhaseState starts a phase of n records; timed keeps each record's acceptance time (not worth
// its 8 bytes a record when nothing is to be delivered).
func newPhaseState(name string, n int, t *Tally, timed bool) *phaseState {
	s := &phaseState{name: name, records: n, tally: t}
	if timed {
		s.accepted = make([]int64, n)
	}
	s.expected.Store(-1)
	return s
}

// accept notes records accepted at ns.
func (s *phaseState) accept(seqs []int, ns int64) {
	if s.accepted != nil {
		for _, seq := range seqs {
			s.accepted[seq] = ns
		}
	}
	s.nAccepted.Add(int64(len(seqs)))
	for last := s.lastAcc.Load(); ns > last && !s.lastAcc.CompareAndSwap(last, ns); last = s.lastAcc.Load() {
	}
}

// fail notes records refused with err.
func (s *phaseState) fail(n int, err error) {
	s.errors.Add(int64(n))
	s.firstErr.CompareAndSwap(nil, &err)
}

// watch reports the phase's progress every 200ms until the returned function is called.
func (r *runner) watch(s *phaseState, m *meter) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	report := func(last bool) {
		p := Progress{Done: last, Phase: s.name, Records: s.records, Accepted: int(s.nAccepted.Load()),
			Delivered: s.tally.Unique(), Expected: int(s.expected.Load()),
			Elapsed: time.Duration(r.now() - m.startNs)}
		if s.queued != nil {
			p.Queued = s.queued()
		}
		r.cfg.Progress(p)
	}
	go func() {
		defer close(finished)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				report(true)
				return
			case <-t.C:
				report(false)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// waitDelivered waits until the receiver holds want distinct records, the phase's timeout passes or
// ctx ends.
func (r *runner) waitDelivered(ctx context.Context, t *Tally, want int) error {
	deadline := time.NewTimer(r.cfg.Timeout)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for t.Unique() < want {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("%d of %d records arrived within %v", t.Unique(), want, r.cfg.Timeout)
		case <-tick.C:
		}
	}
	return nil
}

// finish computes a phase's figures once its records are in (or the wait gave up).
func (r *runner) finish(ph *Phase, s *phaseState, m *meter) {
	cpu, _ := rusage()
	end := r.now()
	ph.PeakRSS = m.rss.Stop()
	ph.RSSBefore = m.rss0
	ph.CPUSeconds = (cpu - m.cpu0).Seconds()
	if ph.Records > 0 {
		ph.CPUPer1k = ph.CPUSeconds / (float64(ph.Records) / 1000)
	}
	ph.Accepted = int(s.nAccepted.Load())
	ph.AcceptErrors = int(s.errors.Load())
	if e := s.firstErr.Load(); e != nil {
		ph.FirstAcceptError = (*e).Error()
	}
	ph.Expected = int(s.expected.Load())
	c := s.tally.Counts()
	ph.Receiver = c
	if c.Unique > 0 {
		ph.AttemptsPerRecord = float64(c.Attempted) / float64(c.Unique)
	}

	samples := make([]int64, 0, c.Unique)
	arrivals := make([]int64, 0, c.Unique)
	early := 0
	lastAccept := s.lastAcc.Load()
	for seq, acc := range s.accepted {
		at, times := s.tally.Arrival(seq)
		if times == 0 {
			if ph.Expected == ph.Records && len(ph.MissingSeqs) < 10 {
				ph.MissingSeqs = append(ph.MissingSeqs, seq)
			}
			continue
		}
		arrivals = append(arrivals, at)
		if acc == 0 {
			continue // arrived although its Log call failed: counted, but no latency
		}
		d := at - acc
		if d < 0 {
			early++
			d = 0
		}
		samples = append(samples, d)
	}
	ph.Latency = summarize(samples, early)
	if lastAccept > m.startNs {
		ph.AcceptSeconds = float64(lastAccept-m.startNs) / 1e9
		ph.AcceptRate = float64(ph.Accepted) / ph.AcceptSeconds
	}
	if c.LastNewAt > m.startNs {
		ph.DeliverSeconds = float64(c.LastNewAt-m.startNs) / 1e9
		ph.DeliverRate = float64(c.Unique) / ph.DeliverSeconds
	}
	if len(arrivals) > 0 && ph.Records > 0 {
		// The arrival that completed 99% of the records (of all records, so that a run that lost
		// some does not look faster).
		if k := (ph.Records*99+99)/100 - 1; k < len(arrivals) {
			slices.Sort(arrivals)
			if at := arrivals[k]; at > m.startNs {
				ph.Deliver99Rate = float64(k+1) / (float64(at-m.startNs) / 1e9)
			}
		}
	}
	ph.WallSeconds = float64(end-m.startNs) / 1e9
	if ph.Expected >= 0 {
		ph.Missing = max(ph.Expected-c.Unique, 0)
	}
	ph.Complete = ph.Expected >= 0 && ph.Missing == 0 && ph.AcceptErrors == 0 && c.DecodeErrors == 0 &&
		c.BadRequests == 0 && c.OutOfRange == 0
}

// emptyDir makes sure dir is empty or absent, so that what the run delivers is only its own.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("spool directory %s is not empty: its messages would be delivered too", dir)
	}
	return nil
}
