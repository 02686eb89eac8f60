package bench

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/internal/gcpace"
	"github.com/hookd/hookd/internal/offheap"
	"github.com/hookd/hookd/message"
)

// The built-in policies: one POST per record, or send_batch posting JSON arrays.
var (
	//go:embed policies/webhook.lua
	webhookPolicy string
	//go:embed policies/batch.lua
	batchPolicy string
)

// breakerFailures is the built-in policies' hookd_breaker_failures: high enough that simulated
// failures (--fail-rate) never open the breaker by chance, so they cost retries and not pauses.
// Dead-webhook mode keeps hookd's default, so that the breaker holds the queued messages.
const breakerFailures = 1000

// policySource returns the policy to load and the name it goes by, pointed at url.
func (r *runner) policySource(url string) (src []byte, name string, err error) {
	if r.cfg.PolicyFile != "" {
		b, err := os.ReadFile(r.cfg.PolicyFile)
		if err != nil {
			return nil, "", err
		}
		// A policy written for `hookd run` reads its webhook from the environment, as
		// examples/webhook/policy.lua does.
		if err := os.Setenv("WEBHOOK_URL", url); err != nil {
			return nil, "", err
		}
		return []byte(strings.ReplaceAll(string(b), "{{WEBHOOK_URL}}", url)), r.cfg.PolicyFile, nil
	}
	text, name := webhookPolicy, "bench-webhook.lua"
	if r.cfg.Batch > 1 {
		text, name = batchPolicy, "bench-batch.lua"
	}
	breaker := strconv.Itoa(breakerFailures)
	if r.cfg.Dead {
		breaker = "5"
	}
	text = strings.NewReplacer(
		"{{WEBHOOK_URL}}", url,
		"{{CONNECTIONS}}", strconv.Itoa(r.cfg.Connections),
		"{{BREAKER_FAILURES}}", breaker,
		"{{BATCH_SIZE}}", strconv.Itoa(r.cfg.Batch),
		"{{MIN_BATCH_SIZE}}", strconv.Itoa(r.cfg.MinBatch),
		"{{MAX_BATCH_LATENCY}}", message.FormatDuration(r.cfg.BatchLatency),
	).Replace(text)
	return []byte(text), name, nil
}

// inProcess runs the hookd phase against an engine in this process: cfg.Concurrency workers call
// Log with cfg.LogBatch records each; a record is accepted when its Log call returns. The phase
// ends when every record the hooks kept has reached the receiver (or, in dead-webhook mode, when
// every kept record is queued).
func (r *runner) inProcess(ctx context.Context, url string) (*Phase, error) {
	src, name, err := r.policySource(url)
	if err != nil {
		return nil, err
	}
	ecfg := engine.Config{Policy: name, PolicySource: src, Logger: r.cfg.Logger, HookWorkers: r.cfg.HookWorkers}
	spoolDir := ""
	switch {
	case r.cfg.Memory:
		ecfg.InMemory = true
	case r.cfg.SpoolDir != "":
		if err := emptyDir(r.cfg.SpoolDir); err != nil {
			return nil, err
		}
		ecfg.SpoolDir, spoolDir = r.cfg.SpoolDir, r.cfg.SpoolDir
	default:
		dir, err := os.MkdirTemp("", "hookd-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		ecfg.SpoolDir, spoolDir = dir, dir
	}
	eng, err := engine.New(ecfg)
	if err != nil {
		return nil, err
	}
	if r.cfg.HeapBudget > 0 {
		defer gcpace.Start(r.cfg.HeapBudget, offheap.Bytes).Stop()
	}
	if err := eng.Start(ctx); err != nil {
		return nil, err
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return eng.Stop(sctx)
	}
	defer func() { _ = stop() }() // a no-op unless returning early

	n := r.cfg.Records
	ph := &Phase{Name: "hookd", Records: n, Spool: eng.SpoolDir()}
	// Behind a dead webhook nothing arrives: no per-record arrival or acceptance times, so that
	// the RSS measured is the engine's rather than this tool's bookkeeping.
	tracked := n
	if r.cfg.Dead {
		tracked = 0
	}
	s := newPhaseState("hookd", n, r.recv.Begin(tracked), !r.cfg.Dead)
	s.queued = func() int64 { return eng.Stats().Queued }
	if r.cfg.CPUProfile != nil {
		if err := pprof.StartCPUProfile(r.cfg.CPUProfile); err != nil {
			return nil, fmt.Errorf("CPU profile: %w", err)
		}
	}
	m := r.startMeter()
	stopWatch := r.watch(s, m)
	r.offer(ctx, s, []*engine.Engine{eng})
	if r.cfg.MemProfile != nil {
		if err := pprof.Lookup("heap").WriteTo(r.cfg.MemProfile, 0); err != nil {
			return nil, fmt.Errorf("heap profile: %w", err)
		}
	}
	kept := int64(eng.Stats().Kept)
	var waitErr error
	if r.cfg.Dead {
		s.expected.Store(0)
		waitErr = r.waitQueued(ctx, eng, kept)
	} else {
		s.expected.Store(kept)
		waitErr = r.waitDelivered(ctx, s.tally, int(kept))
	}
	if r.cfg.CPUProfile != nil {
		pprof.StopCPUProfile()
	}
	stopWatch()
	r.finish(ph, s, m)
	if r.cfg.Dead {
		r.measureQueued(ph, eng.Stats(), spoolDir)
	}
	// The engine counts a delivery once the session has the answer, which may be a moment after the
	// receiver counted it: its totals are read once it has stopped.
	if err := stop(); err != nil && !r.cfg.Dead {
		waitErr = errors.Join(waitErr, fmt.Errorf("stopping the engine: %w", err))
	}
	st := eng.Stats()
	ph.Engine = &st
	if sp, ok := eng.SpoolStats(); ok {
		ph.SpoolLoads, ph.SpoolCacheHits = sp.Loads, sp.CacheHits
		ph.SpoolFrames, ph.SpoolSyncs = sp.Frames, sp.Syncs
	}
	if waitErr == nil && ctx.Err() == nil && ph.AcceptErrors > 0 {
		waitErr = fmt.Errorf("%d records refused, the first: %s", ph.AcceptErrors, ph.FirstAcceptError)
	}
	return ph, waitErr
}

// offer runs the phase's workers: cfg.Concurrency of them take the sequence numbers fed at cfg.Rate
// and offer their records, cfg.LogBatch per Log call, to the engines in turn (round-robin by call).
// A record is accepted when its Log call returns. It returns when every record has been offered, and
// how many records each engine was offered.
func (r *runner) offer(ctx context.Context, s *phaseState, engines []*engine.Engine) []int {
	feedCtx, stopFeed := context.WithCancel(ctx) // ends the feed if every worker gives up
	defer stopFeed()
	ch := feed(feedCtx, s.records, r.cfg.Rate)
	offered := make([]atomic.Int64, len(engines))
	var calls atomic.Uint64
	var wg sync.WaitGroup
	for range r.cfg.Concurrency {
		wg.Go(func() {
			var seqs []int
			recs := make([]*message.LogRecord, 0, r.cfg.LogBatch)
			for {
				seqs = collect(ctx, ch, seqs, r.cfg.LogBatch, 0)
				if len(seqs) == 0 {
					return
				}
				recs = recs[:0]
				for _, seq := range seqs {
					recs = append(recs, r.gen.Record(seq))
				}
				k := (calls.Add(1) - 1) % uint64(len(engines))
				offered[k].Add(int64(len(seqs)))
				if err := engines[k].Log(ctx, recs...); err != nil {
					s.fail(len(seqs), err)
					continue
				}
				s.accept(seqs, r.now())
			}
		})
	}
	wg.Wait()
	out := make([]int, len(engines))
	for i := range offered {
		out[i] = int(offered[i].Load())
	}
	return out
}

// waitQueued waits until the engine's queues hold want messages (dead-webhook mode: nothing leaves).
func (r *runner) waitQueued(ctx context.Context, eng *engine.Engine, want int64) error {
	deadline := time.Now().Add(r.cfg.Timeout)
	for eng.Stats().Queued < want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d messages queued after %v", eng.Stats().Queued, want, r.cfg.Timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// measureQueued notes the memory and disk that the queued messages take.
func (r *runner) measureQueued(ph *Phase, st engine.Stats, spoolDir string) {
	ph.Queued = st.Queued
	runtime.GC()
	debug.FreeOSMemory()
	ph.RSSQueued = currentRSS()
	if ph.Queued > 0 && ph.RSSQueued > ph.RSSBefore {
		ph.RSSPerQueued = float64(ph.RSSQueued-ph.RSSBefore) / float64(ph.Queued)
	}
	if spoolDir != "" {
		ph.SpoolBytes = dirSize(spoolDir)
	}
}

// dirSize is the total size of the files under dir.
func dirSize(dir string) int64 {
	var total int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if info, err := d.Info(); err == nil && !d.IsDir() {
			total += info.Size()
		}
		return nil
	})
	return total
}
