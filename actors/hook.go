package actors

import (
	"fmt"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
)

// hookWorker owns one Lua state of a log hook. For each record it builds the hook's Message (the
// record's JSON as the body), runs the should_enqueue_log_record chain and enqueues what is kept.
type hookWorker struct {
	sys    *System
	counts *hookCounts
	cfg    *config.Hook
	state  *lua.State
	err    error // why the state could not be built
	worker *worker
}

func (h *hookWorker) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case actor.Started:
		h.worker = newWorker()
		h.state, h.err = h.sys.Policy().NewState()
		if h.err != nil {
			h.sys.log.Error("log hook cannot load the policy; its records will be dropped", "hook", h.cfg.Name, "error", h.err)
		}
	case actor.Stopped:
		h.worker.stop()
		h.state.Close()
		h.state = nil
	case hookBatch:
		if h.state != nil && h.state.Policy() != h.sys.Policy() { // reloaded: move to the new policy
			h.state.Close()
			h.state, h.err = h.sys.Policy().NewState()
			if h.err != nil {
				h.sys.log.Error("log hook cannot load the reloaded policy", "hook", h.cfg.Name, "error", h.err)
			}
		}
		h.worker.do(func() {
			for _, ev := range m.events {
				h.process(ev, m.ack)
				m.credits.Release(1)
			}
		})
	}
}

// process decides about one record; the ack is settled on every path, a panic included.
func (h *hookWorker) process(ev *Event, ack *Ack) {
	rec := ev.Record
	settled := false
	settle := func(err error) {
		if !settled {
			settled = true
			ack.Done(err)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			h.fail(rec, fmt.Errorf("panic: %v", r))
			settle(nil)
		}
	}()
	rec = captureRecord(ev, h.cfg.Meta, h.cfg.Headers)
	if h.state == nil {
		h.fail(rec, h.err)
		settle(nil)
		return
	}
	var body, recJSON []byte
	if t := h.cfg.TemplateFor(rec.Type); t != nil {
		out, err := t.Render(rec)
		if err != nil {
			h.fail(rec, err)
			settle(nil)
			return
		}
		body = out
	} else {
		body = rec.AppendJSON(make([]byte, 0, 1024))
		recJSON = body[:len(body):len(body)] // the body is the record: share it
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	m, err := message.NewHookMessageJSON(rec, h.sys.ids.New(h.sys.clock.Now()), body, recJSON)
	if err != nil {
		h.fail(rec, err)
		settle(nil)
		return
	}
	keep, err := h.state.ShouldEnqueue(&lua.Message{Msg: m, Record: rec}, h.cfg.Name)
	switch {
	case err != nil:
		h.fail(rec, err)
		h.replaceIfBroken()
		settle(nil)
	case !keep:
		h.sys.stats.dropped.Add(1)
		h.counts.dropped.Add(1)
		settle(nil)
	default:
		h.sys.stats.kept.Add(1)
		h.counts.kept.Add(1)
		h.sys.Enqueue(h.sys.ctx, m, ack, h.cfg.DeferredSpool) // counts the message on ack itself
		settle(nil)
	}
}

// replaceIfBroken swaps an interrupted Lua state for a fresh one: a state stopped mid-call is never
// used again.
func (h *hookWorker) replaceIfBroken() {
	if h.state == nil || !h.state.Broken() {
		return
	}
	h.sys.stats.interrupted.Add(1)
	h.state.Close()
	h.state, h.err = h.sys.Policy().NewState()
	if h.err != nil {
		h.sys.log.Error("log hook cannot reload the policy", "hook", h.cfg.Name, "error", h.err)
	}
}

// fail logs a record lost to an error in the hook, as KumoMTA does, and counts it.
func (h *hookWorker) fail(rec *message.LogRecord, err error) {
	h.sys.stats.hookErrors.Add(1)
	h.counts.errors.Add(1)
	h.sys.log.Error("Error while calling should_enqueue_log_record", "hook", h.cfg.Name,
		"record", rec.Type, "id", rec.ID, "error", err)
}
