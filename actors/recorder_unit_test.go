package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
)

// recorderUnitRig is the recorder on a loop, with stub ports.
type recorderUnitRig struct {
	e       *actor.Engine
	pid     *actor.PID
	loader  *stubLoader
	store   *stubQueueStore
	emitter *stubEmitter
	clock   *clock.Fake
}

func recorderUnitStart(t *testing.T, loader *stubLoader) *recorderUnitRig {
	t.Helper()
	e := stubEngine(t)
	r := &recorderUnitRig{e: e, loader: loader, store: &stubQueueStore{}, emitter: newStubEmitter(),
		clock: clock.NewFake(t0.Add(time.Hour))}
	rec := &recorder{p: RecorderPorts{Loader: loader, Store: r.store, Emitter: r.emitter, Clock: r.clock,
		Log: stubLogger(), Node: "node"}}
	r.pid = stubStartLoop(t, e, "recorder", "0", rec).pid
	return r
}

func TestRecorderUnitExpirations(t *testing.T) {
	ids := message.NewIDGen([6]byte{5, 5, 5, 5, 5, 5})
	held, heldEntry := stubMessage(t, ids, t0, "unit.webhook", "held by the queue\n")
	stored, storedEntry := stubMessage(t, ids, t0, "unit.webhook", "read back from the spool\n")
	missing := ids.New(t0)
	r := recorderUnitStart(t, newStubLoader(storedEntry))

	pool := "unspecified"
	resp := message.Response{Code: 551, Content: "Next delivery time would be past the expiry time"}
	site := "unspecified->unit.webhook@lua:make.unit"
	r.e.Send(r.pid, recordWork{Type: message.Expiration, Response: resp, Site: site, EgressPool: &pool, Delete: true,
		Items: []recordItem{
			{ID: held.ID, Attempts: 4, Meta: heldEntry.Meta, Body: heldEntry.Body},
			{ID: stored.ID, Attempts: 2},
			{ID: missing, Attempts: 1},
		}})

	em := stubWait(t, r.emitter.ch, "the records")
	if em.Block {
		t.Fatal("the recorder must not wait for the loggers (block = false)")
	}
	if len(em.Recs) != 2 {
		t.Fatalf("%d records, want 2 (the message that cannot be read has none)", len(em.Recs))
	}
	for i, want := range []struct {
		id       message.SpoolID
		attempts uint16
		body     string
	}{{held.ID, 4, "held by the queue\n"}, {stored.ID, 2, "read back from the spool\n"}} {
		rec := em.Recs[i]
		lr := rec.Log
		if lr.Type != message.Expiration || lr.ID != want.id.String() || lr.Queue != "unit.webhook" ||
			lr.Response != resp || lr.Site != site || lr.EgressPool == nil || *lr.EgressPool != pool ||
			lr.NumAttempts != want.attempts || lr.NodeID != "node" || !lr.EventTime.Equal(r.clock.Now()) {
			t.Errorf("record %d: %+v", i, lr)
		}
		if lr.Sender != "sender@example.com" || fmt.Sprint(lr.Recipient) != "[rcpt@example.net]" || lr.Size != uint64(len(want.body)) {
			t.Errorf("record %d envelope %q -> %v size %d", i, lr.Sender, lr.Recipient, lr.Size)
		}
		if string(rec.Body) != want.body {
			t.Errorf("record %d body %q, want %q", i, rec.Body, want.body)
		}
		if tenant, _, _ := rec.Meta.GetString("tenant"); tenant != "acme" {
			t.Errorf("record %d meta %v", i, rec.Meta)
		}
	}
	if loads := r.loader.Loads(); fmt.Sprint(loads) != fmt.Sprint([]message.SpoolID{stored.ID, missing}) {
		t.Fatalf("loads %v: only the items without a body are read back", loads)
	}
	if dels := r.store.Deletes(); fmt.Sprint(dels) != fmt.Sprint([]message.SpoolID{held.ID, stored.ID, missing}) {
		t.Fatalf("deletes %v, want every item", dels)
	}
}

func TestRecorderUnitWithoutDeleteKeepsMessages(t *testing.T) {
	ids := message.NewIDGen([6]byte{5, 5, 5, 5, 5, 6})
	_, entry := stubMessage(t, ids, t0, "unit.webhook", "bounced by an administrator\n")
	r := recorderUnitStart(t, newStubLoader(entry))
	r.e.Send(r.pid, recordWork{Type: message.AdminBounce, Response: message.Response{Code: 551, Content: "admin"},
		Items: []recordItem{{ID: entry.ID}}})

	em := stubWait(t, r.emitter.ch, "the record")
	if len(em.Recs) != 1 || em.Recs[0].Log.Type != message.AdminBounce || em.Recs[0].Log.ID != entry.ID.String() ||
		string(em.Recs[0].Body) != "bounced by an administrator\n" {
		t.Fatalf("emitted %+v", em.Recs)
	}
	if len(r.loader.Loads()) != 1 {
		t.Fatalf("loads %v", r.loader.Loads())
	}
	if dels := r.store.Deletes(); len(dels) != 0 {
		t.Fatalf("deleted %v without Delete", dels)
	}
}
