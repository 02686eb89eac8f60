package actors

import (
	"context"
	"sort"
	"sync"

	"github.com/anthdm/hollywood/actor"
)

// directory finds the queue actor of a queue name, spawning it on first use. It is the only place
// queue actors are spawned, so two producers can never race to create the same queue.
type directory struct {
	sys  *System
	mu   sync.Mutex
	pids map[string]*actor.PID
}

func (d *directory) get(name string) *actor.PID {
	d.mu.Lock()
	defer d.mu.Unlock()
	if pid, ok := d.pids[name]; ok {
		return pid
	}
	pid, err := d.sys.spawn(func() actor.Receiver { return newQueueActor(d.sys, name) }, "queue", name)
	if err != nil {
		// Unreachable while the directory is the only spawner of queues; keep the queue reachable anyway.
		d.sys.log.Error("spawning queue", "queue", name, "error", err)
		pid = d.sys.engine.Registry.GetPID("queue", name)
	}
	d.pids[name] = pid
	return pid
}

func (d *directory) len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pids)
}

func (d *directory) all() map[string]*actor.PID {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]*actor.PID, len(d.pids))
	for k, v := range d.pids {
		out[k] = v
	}
	return out
}

// drainAll asks every queue to finish its sessions and waits for them (or ctx).
func (d *directory) drainAll(ctx context.Context) {
	var waits []chan struct{}
	for _, pid := range d.all() {
		done := make(chan struct{})
		d.sys.engine.Send(pid, drain{done: done})
		waits = append(waits, done)
	}
	for _, w := range waits {
		select {
		case <-w:
		case <-ctx.Done():
			return
		}
	}
}

// stopAll stops every queue actor (and with them their connection actors).
func (d *directory) stopAll(ctx context.Context) {
	for _, pid := range d.all() {
		waitDone(ctx, d.sys.engine.Poison(pid))
	}
}

// Queues returns a snapshot of every queue, sorted by name. detail adds each queue's oldest message
// age and attempts histogram (a pass over every message).
func (s *System) Queues(ctx context.Context, detail bool) []QueueStats {
	var out []QueueStats
	for _, pid := range s.queues.all() {
		reply := make(chan QueueStats, 1)
		s.engine.Send(pid, queueSnapshot{reply: reply, detail: detail})
		select {
		case st := <-reply:
			out = append(out, st)
		case <-ctx.Done():
			return out
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
