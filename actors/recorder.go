package actors

import (
	"log/slog"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// recorder writes the records about queued messages that a queue decided but cannot write itself
// without waiting (expirations, administrators' bounces, undeliverable attempts): it reads each
// message back from the spool when the queue did not hold it, builds the record, hands it to the
// loggers, and removes the message from the spool afterwards when asked to. It runs on a loop of
// its own so that a slow disk holds up records, never a queue.
type recorder struct{ p RecorderPorts }

// RecorderPorts are what the recorder uses.
type RecorderPorts struct {
	Loader  Loader
	Store   QueueStore
	Emitter Emitter
	Clock   clock.Clock
	Log     *slog.Logger
	Node    string
}

func (r *recorder) Receive(_ *loopCtx, msgs []actor.Envelope) {
	for _, env := range msgs {
		if w, ok := env.Msg.(recordWork); ok {
			r.work(w)
		}
	}
}

func (r *recorder) work(w recordWork) {
	now := r.p.Clock.Now()
	recs := make([]Record, 0, len(w.Items))
	for _, it := range w.Items {
		m, err := r.message(it)
		if err != nil {
			r.p.Log.Error("cannot read a queued message back for its record", "id", it.ID.String(),
				"record", w.Type, "error", err)
		} else {
			lr := newRecord(w.Type, m, it.Attempts, now, r.p.Node)
			lr.Response, lr.Site, lr.EgressPool = w.Response, w.Site, w.EgressPool
			recs = append(recs, messageRecord(lr, m))
		}
		if w.Delete {
			r.p.Store.Delete(it.ID)
		}
	}
	if len(recs) > 0 {
		r.p.Emitter.Emit(recs, false)
	}
}

func (r *recorder) message(it recordItem) (*message.Message, error) {
	e := &persistence.Entry{ID: it.ID, Attempts: it.Attempts, Meta: it.Meta, Body: it.Body}
	if it.Body == nil {
		var err error
		if e, err = r.p.Loader.Load(it.ID); err != nil {
			return nil, err
		}
	}
	return persistence.DecodeMessage(e)
}
