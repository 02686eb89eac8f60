package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// hookActor is one Lua state of a log hook, on a loop (its own long-lived goroutine). It takes every
// LogBatch waiting for it at once; for each record it applies the hook's per_record enable, captures
// the configured meta and headers, builds the hook's Message (the record's JSON, or its template, as
// the body), runs the should_enqueue_log_record chain, and writes what is kept by all the batches it
// took to the spool as one group. Once the group is durable each batch is answered (LogDone, or one
// LogDones for all, with the queue inserts for the producer to release) or, for records nobody waits
// for, the inserts go out at once.
type hookActor struct {
	cfg     *config.Hook
	counts  *hookCounts
	p       HookPorts
	state   *lua.State
	err     error // why the state could not be built
	release bool  // a state was dropped for its size: give the memory back after the batch
}

// HookPorts are what a hook actor uses.
type HookPorts struct {
	Policies Policies
	Spool    GroupWriter
	Router   Router
	Send     Sender
	// Intake holds the hook's back_pressure credits, one per record, returned as each is decided.
	Intake *Credits
	// Inserts bounds the messages on their way from hooks into queues (returned by the queue).
	Inserts *Credits
	IDs     *message.IDGen
	Clock   clock.Clock
	Metrics *Metrics
	Log     *slog.Logger
	// Ctx ends when the node stops: a hook waiting for insert credits gives up then.
	Ctx context.Context
}

// hookCounts are one hook's running totals (its actors update them).
type hookCounts struct {
	received, disabled, kept, dropped, errors atomic.Uint64
}

func newHookActor(cfg *config.Hook, counts *hookCounts, p HookPorts) *hookActor {
	return &hookActor{cfg: cfg, counts: counts, p: p}
}

func (h *hookActor) Receive(l *loopCtx, msgs []actor.Envelope) {
	var burst []LogBatch
	for _, env := range msgs {
		switch m := env.Msg.(type) {
		case actor.Started:
			h.state, h.err = h.p.Policies.Current().NewState()
			if h.err != nil {
				h.p.Log.Error("log hook cannot load the policy; its records will be dropped", "hook", h.cfg.Name, "error", h.err)
			}
		case actor.Stopped:
			h.decide(burst)
			burst = nil
			h.state.Close()
			h.state = nil
		case LogBatch:
			burst = append(burst, m)
		}
	}
	h.decide(burst)
}

// refresh moves the hook to a reloaded policy before its next record.
func (h *hookActor) refresh() {
	cur := h.p.Policies.Current()
	if h.state != nil && h.state.Policy() == cur {
		return
	}
	h.state.Close()
	h.state, h.err = cur.NewState()
	if h.err != nil {
		h.p.Log.Error("log hook cannot load the reloaded policy", "hook", h.cfg.Name, "error", h.err)
	}
}

// group is what one batch kept: the spool entries and an insert per queue.
type group struct {
	entries []*persistence.Entry
	inserts []*wire.Insert
	byQueue map[string]*wire.Insert // once the group has more than groupScan queues
	routes  []RoutedInsert
	err     error

	// Room for a group of one message, one queue (one record per Log call): its slices start here
	// instead of in allocations of their own.
	entry0  [1]*persistence.Entry
	insert0 [1]*wire.Insert
	stored0 [1]*wire.Stored
	route0  [1]RoutedInsert
	first   wire.Insert
}

// groupScan is how many queues a group finds by scanning its inserts; most groups have one or two,
// for which a map cost an allocation per record.
const groupScan = 8

func (g *group) add(queueName string, e *persistence.Entry, s *wire.Stored) {
	if g.entries == nil {
		g.entries = g.entry0[:0]
	}
	g.entries = append(g.entries, e)
	ins := g.insertFor(queueName)
	if ins == nil {
		if g.inserts == nil {
			g.first = wire.Insert{Queue: queueName, Counted: true, Messages: g.stored0[:0]}
			ins, g.inserts = &g.first, g.insert0[:0]
		} else {
			ins = &wire.Insert{Queue: queueName, Counted: true}
		}
		g.inserts = append(g.inserts, ins)
		switch {
		case g.byQueue != nil:
			g.byQueue[queueName] = ins
		case len(g.inserts) > groupScan:
			g.byQueue = make(map[string]*wire.Insert, 2*len(g.inserts))
			for _, in := range g.inserts {
				g.byQueue[in.Queue] = in
			}
		}
	}
	ins.Messages = append(ins.Messages, s)
}

func (g *group) insertFor(queueName string) *wire.Insert {
	if g.byQueue != nil {
		return g.byQueue[queueName]
	}
	for _, ins := range g.inserts {
		if ins.Queue == queueName {
			return ins
		}
	}
	return nil
}

// part is one batch of a burst, decided and waiting for its group to be durable.
type part struct {
	b LogBatch
	g group
}

// decide settles every batch taken from the inbox at once. Each is decided on its own (its records,
// its credits and routes, its answer), but those that kept something share one spool group, so a
// burst costs one write request and one durable callback, and its answers and queue inserts go out
// together (acks merges them per queue).
func (h *hookActor) decide(batches []LogBatch) {
	if len(batches) == 0 {
		return
	}
	h.refresh()
	var parts []*part
	for _, b := range batches {
		if p := h.batch(b); p != nil {
			parts = append(parts, p)
		}
	}
	if h.release { // a state was dropped for its size; nothing of it is reachable past process
		h.release = false
		lua.ReleaseMemory()
	}
	for len(parts) > 0 {
		n, entries := commitOf(parts)
		h.commit(parts[:n:n], entries)
		parts = parts[n:]
	}
}

// commitOf returns how many of parts (at least one) fit in one spool group, and their entries.
func commitOf(parts []*part) (int, []*persistence.Entry) {
	if len(parts) == 1 {
		return 1, parts[0].g.entries
	}
	var entries []*persistence.Entry
	size := 0
	for i, p := range parts {
		pb := persistence.GroupBytes(p.g.entries)
		if i > 0 && (len(entries)+len(p.g.entries) > persistence.MaxGroupEntries || size+pb > persistence.MaxGroupBytes) {
			return i, entries
		}
		entries = append(entries, p.g.entries...)
		size += pb
	}
	return len(parts), entries
}

// commit writes the entries of parts as one group and answers each part once it is durable.
func (h *hookActor) commit(parts []*part, entries []*persistence.Entry) {
	h.p.Spool.PutGroup(entries, func(err error) {
		traceHop(HopDurable)
		if err != nil {
			err = fmt.Errorf("spooling %d messages: %w", len(entries), err)
		}
		h.answerAll(parts, err) // on the spool's goroutine: touches only the parts and the ports
	})
}

// batch decides one batch. A batch that kept something to write comes back as a part for the
// burst's group; any other is answered at once.
func (h *hookActor) batch(b LogBatch) *part {
	traceHop(HopHook)
	h.counts.received.Add(uint64(len(b.Records)))
	p := &part{b: b}
	g := &p.g
	for i := range b.Records {
		h.process(&b.Records[i], g)
		h.p.Intake.Release(1)
	}
	if g.err == nil && len(g.entries) > 0 {
		g.err = h.reserve(g)
	}
	if g.err != nil || len(g.entries) == 0 {
		h.answer(b, g, g.err)
		return nil
	}
	for _, ins := range g.inserts {
		ins.Held = h.cfg.DeferredSpool
	}
	if h.cfg.DeferredSpool {
		h.answer(b, g, nil)
		return nil
	}
	return p
}

// reserve takes insert credits and a route for each queue of the group; on failure it gives back
// what it took.
func (h *hookActor) reserve(g *group) error {
	if err := h.p.Inserts.Acquire(h.p.Ctx, len(g.entries)); err != nil {
		return fmt.Errorf("%w: %v", ErrStopped, err)
	}
	for _, ins := range g.inserts {
		pid, err := h.p.Router.Route(ins.Queue, len(ins.Messages))
		if err != nil {
			h.unroute(g)
			h.p.Inserts.Release(len(g.entries))
			return err
		}
		if g.routes == nil {
			g.routes = g.route0[:0]
		}
		g.routes = append(g.routes, RoutedInsert{PID: pid, Insert: ins})
	}
	return nil
}

func (h *hookActor) unroute(g *group) {
	for _, r := range g.routes {
		h.p.Router.Release(r.Insert.Queue, r.PID, len(r.Insert.Messages))
	}
	g.routes = nil
}

// answer settles a batch: with an error nothing of it is kept (routes and credits go back); else the
// inserts go to the producer, who releases them once its whole request is durable, or straight to
// their queues when nobody waits.
func (h *hookActor) answer(b LogBatch, g *group, err error) {
	if done, ok := h.settle(b, g, err); ok {
		h.p.Send.Send(b.Reply, done)
	}
}

// settle gives back what a failed batch reserved and returns its answer; ok is false for a batch
// nobody waits for, whose inserts (if it succeeded) have gone to their queues.
func (h *hookActor) settle(b LogBatch, g *group, err error) (LogDone, bool) {
	if err != nil && len(g.routes) > 0 {
		h.unroute(g)
		h.p.Inserts.Release(len(g.entries))
	}
	if b.Reply == nil {
		if err != nil {
			h.p.Log.Error("records the engine produced could not be queued", "hook", h.cfg.Name, "error", err)
			return LogDone{}, false
		}
		sendInserts(h.p.Send, h.p.Metrics, g.routes)
		return LogDone{}, false
	}
	if err != nil {
		return LogDone{Corr: b.Corr, Code: errorCode(err), Err: err.Error()}, true
	}
	return LogDone{Corr: b.Corr, Inserts: g.routes}, true
}

// answerAll settles the parts of one group: the answers for one producer's acknowledgements go in a
// single LogDones when there are several.
func (h *hookActor) answerAll(parts []*part, err error) {
	if len(parts) == 1 {
		h.answer(parts[0].b, &parts[0].g, err)
		return
	}
	var dones []LogDone
	var to *actor.PID
	flush := func() {
		switch len(dones) {
		case 0:
		case 1:
			h.p.Send.Send(to, dones[0])
		default:
			h.p.Send.Send(to, LogDones{Dones: dones})
		}
		dones = nil
	}
	for _, p := range parts {
		done, ok := h.settle(p.b, &p.g, err)
		if !ok {
			continue
		}
		if to != nil && !to.Equals(p.b.Reply) {
			flush()
		}
		to = p.b.Reply
		dones = append(dones, done)
	}
	flush()
}

// sendInserts hands reserved inserts to their queues.
func sendInserts(s Sender, m *Metrics, routes []RoutedInsert) {
	for _, r := range routes {
		n := int64(len(r.Insert.Messages))
		m.Enqueued.Add(uint64(n))
		m.Queued.Add(n)
		s.Send(r.PID, r.Insert)
	}
}

// process decides about one record and adds what is kept to the group. A panic in the policy code
// it calls is the record's error, as any other.
func (h *hookActor) process(rec *Record, g *group) {
	lr := &rec.Log
	if !h.cfg.Enabled(lr.Type) || isLogRecord(lr) {
		h.p.Metrics.Disabled.Add(1)
		h.counts.disabled.Add(1)
		return
	}
	defer func() {
		if r := recover(); r != nil {
			h.fail(lr, fmt.Errorf("panic: %v", r))
		}
	}()
	if h.state == nil {
		h.fail(lr, h.err)
		return
	}
	captured := captureRecord(rec, h.cfg.Meta, h.cfg.Headers)
	body, recJSON, err := h.body(captured)
	if err != nil {
		h.fail(lr, err)
		return
	}
	m, err := message.NewHookMessageJSON(captured, h.p.IDs.New(h.p.Clock.Now()), body, recJSON)
	if err != nil {
		h.fail(lr, err)
		return
	}
	keep, err := h.state.ShouldEnqueue(&lua.Message{Msg: m, Record: captured}, h.cfg.Name)
	switch {
	case err != nil:
		h.fail(lr, err)
		h.replaceIfBroken(err)
	case !keep:
		h.p.Metrics.Dropped.Add(1)
		h.counts.dropped.Add(1)
	default:
		h.p.Metrics.Kept.Add(1)
		h.counts.kept.Add(1)
		h.keep(m, g)
	}
}

// body renders the message body of a captured record: its template, or its JSON (which is then also
// the record's JSON, shared).
func (h *hookActor) body(rec *message.LogRecord) (body, recJSON []byte, err error) {
	if t := h.cfg.TemplateFor(rec.Type); t != nil {
		if body, err = t.Render(rec); err != nil {
			return nil, nil, err
		}
	} else {
		body = rec.AppendJSON(make([]byte, 0, 1024))
		recJSON = body[:len(body):len(body)]
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		body = append(body, '\n')
	}
	return body, recJSON, nil
}

// keep adds a kept message to the group: the queue "null" discards it, an unusable queue name or
// meta drops it with an error logged.
func (h *hookActor) keep(m *message.Message, g *group) {
	name, err := m.QueueName()
	if err != nil {
		h.p.Log.Error("cannot compute the queue name; message dropped", "hook", h.cfg.Name, "id", m.ID.String(), "error", err)
		return
	}
	if name == "null" {
		return
	}
	meta, err := persistence.EncodeMeta(m)
	if err != nil {
		g.err = fmt.Errorf("encoding message %s: %w", m.ID, err)
		return
	}
	id := m.ID
	g.add(name, &persistence.Entry{ID: id, Queue: name, Meta: meta, Body: m.Body},
		&wire.Stored{Id: id[:], Meta: meta, Body: m.Body})
}

// replaceIfBroken swaps an interrupted Lua state for a fresh one: a state stopped mid-call is never
// used again.
func (h *hookActor) replaceIfBroken(err error) {
	if h.state == nil || !h.state.Broken() {
		return
	}
	h.p.Metrics.Interrupted.Add(1)
	h.state.Close()
	h.state = nil
	h.state, h.err = h.p.Policies.Current().NewState()
	h.release = h.release || errors.As(err, new(*lua.MemoryError))
	if h.err != nil {
		h.p.Log.Error("log hook cannot reload the policy", "hook", h.cfg.Name, "error", h.err)
	}
}

// fail logs a record lost to an error in the hook, as KumoMTA does, and counts it.
func (h *hookActor) fail(rec *message.LogRecord, err error) {
	h.p.Metrics.HookErrors.Add(1)
	h.counts.errors.Add(1)
	h.p.Log.Error("Error while calling should_enqueue_log_record", "hook", h.cfg.Name,
		"record", rec.Type, "id", rec.ID, "error", err)
}

// isLogRecord reports a record about a message a log hook generated: hooks never see those, which is
// what keeps a webhook's own deliveries from looping back into it.
func isLogRecord(r *message.LogRecord) bool {
	return r.ReceptionProtocol != nil && *r.ReceptionProtocol == "LogRecord"
}

// errorCode classifies an error for a reply that crosses a boundary as a value.
func errorCode(err error) wire.Code {
	switch {
	case err == nil:
		return wire.Code_CODE_OK
	case errors.Is(err, ErrLowSpace):
		return wire.Code_CODE_LOW_SPACE
	case errors.Is(err, ErrTooManyQueues):
		return wire.Code_CODE_TOO_MANY_QUEUES
	case errors.Is(err, ErrQueueFull):
		return wire.Code_CODE_QUEUE_FULL
	case errors.Is(err, ErrStopped):
		return wire.Code_CODE_STOPPING
	default:
		return wire.Code_CODE_INTERNAL
	}
}

// codeError turns a reply's code and text back into an error that errors.Is recognises.
func codeError(code wire.Code, text string) error {
	var base error
	switch code {
	case wire.Code_CODE_OK:
		return nil
	case wire.Code_CODE_LOW_SPACE:
		base = ErrLowSpace
	case wire.Code_CODE_TOO_MANY_QUEUES:
		base = ErrTooManyQueues
	case wire.Code_CODE_QUEUE_FULL:
		base = ErrQueueFull
	case wire.Code_CODE_STOPPING:
		base = ErrStopped
	default:
		return errors.New(text)
	}
	if text == "" || text == base.Error() {
		return base
	}
	return &codedError{base: base, text: text}
}

type codedError struct {
	base error
	text string
}

func (e *codedError) Error() string { return e.text }
func (e *codedError) Unwrap() error { return e.base }
