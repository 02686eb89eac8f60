package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
	"github.com/hookd/hookd/wire"
)

// Inject receives new messages the way KumoMTA's injection does: the messages are written to the
// spool as one group, then their Reception records are logged (through the hooks, durably), then
// they are handed to their queues. Messages for the queue "null" are dropped without a record. It
// returns once all of that is done; an error means none of the messages will be delivered (what was
// written is deleted again).
func (s *System) Inject(ctx context.Context, msgs []*message.Message, peer string, deferred bool) (err error) {
	if err := s.Accepting(); err != nil {
		return err
	}
	var entries []*persistence.Entry
	var order []string
	byQueue := map[string]*wire.Insert{}
	routed := map[string]*actor.PID{}
	defer func() {
		if err == nil {
			return
		}
		for name, pid := range routed { // reservations of messages that never reached their queue
			s.route.Release(name, pid, len(byQueue[name].Messages))
		}
	}()
	var todo []*message.Message
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
		ins := byQueue[name]
		if ins == nil {
			ins = &wire.Insert{Queue: name, Held: deferred, Counted: true}
			byQueue[name] = ins
			order = append(order, name)
		}
		id := m.ID
		ins.Messages = append(ins.Messages, &wire.Stored{Id: id[:], Meta: meta, Body: m.Body})
		entries = append(entries, &persistence.Entry{ID: id, Queue: name, Meta: meta, Body: m.Body})
		todo = append(todo, m)
	}
	for _, name := range order {
		pid, err := s.route.Route(name, len(byQueue[name].Messages))
		if err != nil {
			return err
		}
		routed[name] = pid
	}
	if !deferred && len(entries) > 0 {
		if err := s.putGroup(ctx, entries); err != nil {
			return fmt.Errorf("spooling: %w", err)
		}
	}
	committed := false
	defer func() {
		if !committed && !deferred {
			for _, e := range entries {
				s.spool.Delete(e.ID)
			}
		}
	}()
	now := s.opts.Clock.Now()
	recs := make([]Record, len(todo))
	for i, m := range todo {
		recs[i] = messageRecord(s.reception(m, peer, now), m)
	}
	if err := s.Log(ctx, recs); err != nil {
		return err
	}
	if err := s.inserts.Acquire(ctx, len(entries)); err != nil {
		return err
	}
	committed = true
	routes := make([]RoutedInsert, 0, len(order))
	for _, name := range order {
		routes = append(routes, RoutedInsert{PID: routed[name], Insert: byQueue[name]})
	}
	sendInserts(s.send, s.metrics, routes)
	return nil
}

// putGroup writes entries to the spool as one group and waits until they are durable.
func (s *System) putGroup(ctx context.Context, entries []*persistence.Entry) error {
	done := make(chan error, 1)
	s.spool.PutGroup(entries, func(err error) { done <- err })
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		go func() { // too late: what the spool writes after all is deleted again
			if <-done == nil {
				for _, e := range entries {
					s.spool.Delete(e.ID)
				}
			}
		}()
		return ctx.Err()
	}
}

func (s *System) reception(m *message.Message, peer string, now time.Time) message.LogRecord {
	r := newRecord(message.Reception, m, 0, now, s.opts.NodeID)
	r.Response = message.Response{Code: 250}
	if peer != "" {
		r.PeerAddress = &message.PeerAddress{Addr: peer}
	}
	return r
}
