package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/queue"
)

// Inject receives new messages the way KumoMTA's injection does: each message is written to the
// spool, then its Reception record is logged (through the hooks, durably), then it is handed to its
// queue. Messages for the queue "null" are dropped without a record. It returns once all of that is
// done, or the first error.
func (s *System) Inject(ctx context.Context, msgs []*message.Message, peer string, deferred bool) error {
	if err := s.Accepting(); err != nil {
		return err
	}
	type pending struct {
		m     *message.Message
		ref   *queueRef
		entry *persistence.Entry
	}
	var todo []pending
	sent := 0
	defer func() { // reservations of messages that never reached their queue
		for _, p := range todo[sent:] {
			p.ref.release()
		}
	}()
	for _, m := range msgs {
		name, err := m.QueueName()
		if err != nil {
			return fmt.Errorf("message for %v: computing its queue: %w", m.Recipients, err)
		}
		if name == "null" {
			continue
		}
		meta, err := persistence.EncodeMeta(m)
		if err != nil {
			return err
		}
		ref, err := s.queues.reserve(name, s.opts.Limits.MaxQueues)
		if err != nil {
			return err
		}
		todo = append(todo, pending{m: m, ref: ref, entry: &persistence.Entry{ID: m.ID, Queue: name, Meta: meta, Body: m.Body}})
	}
	stored := NewAck()
	if !deferred {
		for _, p := range todo {
			stored.Add(1)
			s.spool.Put(p.entry, stored.Done)
		}
	}
	stored.Seal()
	if err := stored.Wait(ctx); err != nil {
		return fmt.Errorf("spooling: %w", err)
	}
	now := s.clock.Now()
	events := make([]*Event, len(todo))
	for i, p := range todo {
		events[i] = messageEvent(s.reception(p.m, peer, now), p.m)
	}
	if err := s.Log(ctx, events); err != nil {
		return err
	}
	for _, p := range todo {
		if err := s.inserts.Acquire(ctx, 1); err != nil {
			return err
		}
		item := queue.Item{ID: p.m.ID}
		var held *persistence.Entry
		if deferred {
			held = p.entry
		}
		s.enqueued(p.ref, item, held)
		sent++
	}
	return nil
}

func (s *System) reception(m *message.Message, peer string, now time.Time) *message.LogRecord {
	r := s.newRecord(message.Reception, m, 0, now)
	r.Response = message.Response{Code: 250}
	if peer != "" {
		r.PeerAddress = &message.PeerAddress{Addr: peer}
	}
	return r
}

// NewID returns a fresh spool id.
func (s *System) NewID() message.SpoolID { return s.ids.New(s.clock.Now()) }

// Now is the system's clock reading.
func (s *System) Now() time.Time { return s.clock.Now() }
