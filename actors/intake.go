package actors

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/config"
)

// Intake is where records enter the actors: the producer's side of the edges into the hook and local
// logger actors. It runs on the producer's goroutine (a Log call, a session reporting outcomes): it
// applies what a logger decides without Lua (per_record enable, and that hooks never see records
// about their own messages), takes the loggers' back_pressure credits, and sends each logger its
// batch. A Log call then waits for every hook's LogDone through the acknowledgements (acks) and
// releases the request's queue inserts only if all of it is durable.
type Intake struct {
	send    Sender
	hooks   []*hookRoute
	locals  []*localRoute
	acks    *acks
	metrics *Metrics
	log     *slog.Logger
	ctx     context.Context // ends when the node stops
	// refuse returns why new work is refused now (nil when it is taken).
	refuse func() error
}

// hookRoute is the intake's edge into one log hook's actors.
type hookRoute struct {
	cfg     *config.Hook
	actors  []*actor.PID
	next    atomic.Uint32
	credits *Credits
	counts  *hookCounts
}

// localRoute is the intake's edge into one local logger.
type localRoute struct {
	cfg     *config.LocalLogs
	pid     *actor.PID
	credits *Credits
}

// wants reports whether the hook takes the record at all (per_record enable, no records about hook
// messages): records it does not are counted and never sent.
func (h *hookRoute) wants(rec *Record) bool {
	return h.cfg.Enabled(rec.Log.Type) && !isLogRecord(&rec.Log)
}

// pick is the hook actor the next batch goes to (round robin over its Lua states).
func (h *hookRoute) pick() *actor.PID {
	return h.actors[int(h.next.Add(1)-1)%len(h.actors)]
}

// Log offers records to every log hook and returns once each hook has decided about each record and
// everything kept is durable; then, and only then, the kept messages reach their queues. An error
// means nothing of the call was kept. Local loggers get every record too; their lines are not part
// of what Log acknowledges, only their back pressure is.
func (in *Intake) Log(ctx context.Context, recs []Record) error {
	traceHop(HopLog)
	if err := in.refuse(); err != nil {
		return err
	}
	if err := in.toLocals(ctx, recs, true); err != nil {
		return err
	}
	batches, n, err := in.takeCredits(ctx, recs)
	if err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	w := in.acks.open(n)
	for i, b := range batches {
		if b == nil {
			continue
		}
		h := in.hooks[i]
		in.metrics.Received.Add(uint64(len(b)))
		in.send.Send(h.pick(), LogBatch{Records: b, Corr: w.corr, Reply: in.acks.pid})
	}
	return in.acks.wait(ctx, w)
}

// takeCredits selects each hook's records and takes its credits for them, all or none. batches is
// indexed like the hooks (nil for a hook that takes none of the records); n counts the others.
func (in *Intake) takeCredits(ctx context.Context, recs []Record) (batches [][]Record, n int, err error) {
	batches = make([][]Record, len(in.hooks))
	for i, h := range in.hooks {
		sel := in.selectFor(h, recs)
		if len(sel) == 0 {
			continue
		}
		if err := h.credits.Acquire(ctx, len(sel)); err != nil {
			for j := range i {
				in.hooks[j].credits.Release(len(batches[j]))
			}
			return nil, 0, fmt.Errorf("log hook %s is full (back_pressure %d): %w", h.cfg.Name, h.cfg.BackPressure, err)
		}
		batches[i] = sel
		n++
	}
	return batches, n, nil
}

// selectFor returns the records hook h takes: recs itself when it takes them all. Records it does
// not take are counted as disabled.
func (in *Intake) selectFor(h *hookRoute, recs []Record) []Record {
	all := true
	for i := range recs {
		if !h.wants(&recs[i]) {
			all = false
			break
		}
	}
	if all {
		return recs
	}
	var sel []Record
	for i := range recs {
		if h.wants(&recs[i]) {
			sel = append(sel, recs[i])
		} else {
			h.counts.received.Add(1)
			h.counts.disabled.Add(1)
			in.metrics.Disabled.Add(1)
		}
	}
	return sel
}

// Emit offers records the engine produced (delivery outcomes, expirations) to the loggers without
// waiting for them. block says whether the caller may wait for room: sessions may; queues and the
// recorder must not, and go past the bound instead (counted).
func (in *Intake) Emit(recs []Record, block bool) {
	_ = in.toLocals(in.ctx, recs, block)
	for _, h := range in.hooks {
		sel := in.selectFor(h, recs)
		if len(sel) == 0 {
			continue
		}
		if block {
			if err := h.credits.Acquire(in.ctx, len(sel)); err != nil {
				in.log.Warn("dropping records at shutdown", "hook", h.cfg.Name, "count", len(sel))
				continue
			}
		} else {
			h.credits.Force(len(sel))
		}
		in.metrics.Received.Add(uint64(len(sel)))
		in.send.Send(h.pick(), LogBatch{Records: sel})
	}
}

// toLocals hands records to every local logger (records about hook messages included).
func (in *Intake) toLocals(ctx context.Context, recs []Record, block bool) error {
	if len(recs) == 0 {
		return nil
	}
	for _, l := range in.locals {
		if block {
			if err := l.credits.Acquire(ctx, len(recs)); err != nil {
				return fmt.Errorf("local logs %s are full (back_pressure %d): %w", l.cfg.LogDir, l.cfg.BackPressure, err)
			}
		} else {
			l.credits.Force(len(recs))
		}
		in.send.Send(l.pid, LogBatch{Records: recs})
	}
	return nil
}

// HasLocalLogs reports whether any local logger is configured (records about hook messages are built
// only for them).
func (in *Intake) HasLocalLogs() bool { return len(in.locals) > 0 }
