package actors

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// The local router driven alone: its spawn function starts recording actors instead of queue
// actors (keeping each one's QueueHome, which the test then uses as the queue would), and its
// subscribers' QueueMoved go through a recording fakeSender.

// routerUnitSpawned is one spawn the router asked for.
type routerUnitSpawned struct {
	Name, ID string
	Home     QueueHome
	PID      *actor.PID
}

// routerUnitRig is a localRouter and what it spawned.
type routerUnitRig struct {
	e       *actor.Engine
	r       *localRouter
	send    *fakeSender
	mu      sync.Mutex
	spawned []routerUnitSpawned
	fail    error // when set, spawning fails with it
}

func routerUnitStart(t *testing.T, limit int) *routerUnitRig {
	t.Helper()
	rig := &routerUnitRig{e: fakeEngine(t)}
	rig.send = &fakeSender{e: rig.e}
	rig.r = newLocalRouter(limit, rig.send, func(name, id string, home QueueHome) (*actor.PID, error) {
		rig.mu.Lock()
		defer rig.mu.Unlock()
		if rig.fail != nil {
			return nil, rig.fail
		}
		a := fakeSpawn(t, rig.e, "fake-queue", nil)
		rig.spawned = append(rig.spawned, routerUnitSpawned{Name: name, ID: id, Home: home, PID: a.pid})
		return a.pid, nil
	})
	return rig
}

func (rig *routerUnitRig) spawns() []routerUnitSpawned {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]routerUnitSpawned(nil), rig.spawned...)
}

func (rig *routerUnitRig) route(t *testing.T, name string, n int) *actor.PID {
	t.Helper()
	pid, err := rig.r.Route(name, n)
	if err != nil || pid == nil {
		t.Fatalf("Route(%q, %d) = %v, %v", name, n, pid, err)
	}
	return pid
}

// moved returns the QueueMoved the router sent so far, with their targets.
func (rig *routerUnitRig) moved() ([]QueueMoved, []*actor.PID) {
	return fakeSentOf[QueueMoved](rig.send)
}

// routerUnitQueues is Queues sorted by name.
func routerUnitQueues(r *localRouter) []QueueRef {
	qs := r.Queues()
	sort.Slice(qs, func(i, j int) bool { return qs[i].Name < qs[j].Name })
	return qs
}

// TestRouterUnitRoute: a name is spawned once and then always routed to the same actor; Queues
// lists every queue with its actor; subscribers are told of each new queue.
func TestRouterUnitRoute(t *testing.T) {
	rig := routerUnitStart(t, 0)
	sub := fakeSpawn(t, rig.e, "fake-subscriber", nil)
	rig.r.Subscribe(sub.pid)

	a := rig.route(t, "a.example", 2)
	if again := rig.route(t, "a.example", 1); !again.Equals(a) {
		t.Fatalf("second Route returned %s, want the same actor %s", again, a)
	}
	b := rig.route(t, "b.example", 1)
	if b.Equals(a) {
		t.Fatal("two queues share an actor")
	}
	sp := rig.spawns()
	if len(sp) != 2 || sp[0].Name != "a.example" || sp[0].ID != "a.example#1" || sp[1].Name != "b.example" || sp[1].ID != "b.example#2" {
		t.Fatalf("spawned %+v; want a.example#1 then b.example#2, each once", sp)
	}
	qs := routerUnitQueues(rig.r)
	if len(qs) != 2 || qs[0].Name != "a.example" || !qs[0].PID.Equals(a) || qs[1].Name != "b.example" || !qs[1].PID.Equals(b) {
		t.Fatalf("Queues() = %+v", qs)
	}

	for _, want := range []QueueMoved{{Name: "a.example", PID: a}, {Name: "b.example", PID: b}} {
		got, _ := fakeExpect[QueueMoved](t, sub, "QueueMoved "+want.Name)
		if got.Name != want.Name || !got.PID.Equals(want.PID) {
			t.Fatalf("QueueMoved %+v, want %+v", got, want)
		}
	}
	if moved, pids := rig.moved(); len(moved) != 2 || !pids[0].Equals(sub.pid) || !pids[1].Equals(sub.pid) {
		t.Fatalf("QueueMoved sent %+v to %v; want two, to the subscriber", moved, pids)
	}

	// An unsubscribed actor is told nothing more.
	rig.r.Unsubscribe(sub.pid)
	rig.route(t, "c.example", 1)
	if moved, _ := rig.moved(); len(moved) != 2 {
		t.Fatalf("QueueMoved sent %d times, want no more after Unsubscribe", len(moved))
	}
}

// TestRouterUnitReap: a queue is reaped only once every routed insert has arrived or been
// released; reaping tells the subscribers (PID nil) and the next Route makes a new actor, whose
// predecessor's home can no longer reap it.
func TestRouterUnitReap(t *testing.T) {
	rig := routerUnitStart(t, 0)
	sub := fakeSpawn(t, rig.e, "fake-subscriber", nil)
	rig.r.Subscribe(sub.pid)

	first := rig.route(t, "q.example", 2)
	rig.route(t, "q.example", 1) // 3 inserts reserved
	fakeExpect[QueueMoved](t, sub, "QueueMoved on creation")
	home := rig.spawns()[0].Home

	home.Arrived(2)
	if home.Reap() {
		t.Fatal("reaped with an insert on its way")
	}
	rig.r.Release("q.example", first, 1)
	if !home.Reap() {
		t.Fatal("not reaped once every insert arrived or was released")
	}
	gone, _ := fakeExpect[QueueMoved](t, sub, "QueueMoved on reap")
	if gone.Name != "q.example" || gone.PID != nil {
		t.Fatalf("QueueMoved on reap %+v; want q.example with no PID", gone)
	}
	if qs := rig.r.Queues(); len(qs) != 0 {
		t.Fatalf("Queues() after the reap = %+v", qs)
	}

	second := rig.route(t, "q.example", 1)
	sp := rig.spawns()
	if second.Equals(first) || len(sp) != 2 || sp[1].ID != "q.example#2" {
		t.Fatalf("after the reap Route gave %s (first %s), spawned %+v; want a new actor q.example#2", second, first, sp)
	}
	made, _ := fakeExpect[QueueMoved](t, sub, "QueueMoved on re-creation")
	if made.Name != "q.example" || !made.PID.Equals(second) {
		t.Fatalf("QueueMoved on re-creation %+v", made)
	}
	sp[1].Home.Arrived(1)
	if home.Reap() {
		t.Fatal("the reaped actor's home reaped its successor")
	}
	if qs := rig.r.Queues(); len(qs) != 1 || !qs[0].PID.Equals(second) {
		t.Fatalf("Queues() = %+v, want the new actor", qs)
	}

	// A stopping node reaps nothing.
	rig.r.keepAll()
	if sp[1].Home.Reap() {
		t.Fatal("reaped while the node is stopping")
	}
}

// TestRouterUnitMaxQueues: past Limits.MaxQueues Route refuses a new name with ErrTooManyQueues
// (spawning nothing) but still routes to existing queues; Recover ignores the limit; a failed
// spawn leaves no queue behind.
func TestRouterUnitMaxQueues(t *testing.T) {
	rig := routerUnitStart(t, 2)
	a := rig.route(t, "a.example", 1)
	rig.route(t, "b.example", 1)

	pid, err := rig.r.Route("c.example", 1)
	if !errors.Is(err, ErrTooManyQueues) || pid != nil {
		t.Fatalf("Route of a third queue = %v, %v; want ErrTooManyQueues", pid, err)
	}
	if n := len(rig.spawns()); n != 2 {
		t.Fatalf("%d spawns, want 2: a refused queue is not spawned", n)
	}
	if again := rig.route(t, "a.example", 1); !again.Equals(a) {
		t.Fatalf("an existing queue at the limit routed to %s, want %s", again, a)
	}

	rec, err := rig.r.Recover("c.example", 1)
	if err != nil || rec == nil {
		t.Fatalf("Recover past the limit = %v, %v", rec, err)
	}
	if qs := routerUnitQueues(rig.r); len(qs) != 3 || qs[2].Name != "c.example" || !qs[2].PID.Equals(rec) {
		t.Fatalf("Queues() = %+v", qs)
	}

	rig.mu.Lock()
	rig.fail = errors.New("no room")
	rig.mu.Unlock()
	if pid, err := rig.r.Recover("d.example", 1); err == nil || pid != nil {
		t.Fatalf("Recover with a failing spawn = %v, %v", pid, err)
	}
	if n := len(rig.r.Queues()); n != 3 {
		t.Fatalf("%d queues after a failed spawn, want 3", n)
	}

	// A closed router refuses new names with its reason.
	stopped := errors.New("stopping")
	rig.r.close(stopped)
	if _, err := rig.r.Recover("e.example", 1); !errors.Is(err, stopped) {
		t.Fatalf("Recover on a closed router: %v", err)
	}
}

// selfStopper is a pooled actor that stops itself when told to, and tells its QueueHome once it has
// stopped. Before it returns from the message that stopped it, it lets the test stop it too.
type selfStopper struct {
	home    QueueHome
	stopped chan struct{} // closed when the test may stop it
	again   chan struct{} // closed once it has
}

func (a *selfStopper) Receive(c *pooledCtx) {
	switch c.Message().(type) {
	case string:
		c.Stop()
		close(a.stopped)
		<-a.again
	case actor.Stopped:
		a.home.Stopped()
	}
}

// A queue actor that stops itself while the node stops it too: stop returns once it has stopped,
// whichever of the two it took.
func TestQueueRefStopWhileTheActorStopsItself(t *testing.T) {
	e := fakeEngine(t)
	pool := newActorPool(2)
	defer pool.close()
	ref := &queueRef{name: "q", done: make(chan struct{})}
	sel := &selfStopper{home: ref, stopped: make(chan struct{}), again: make(chan struct{})}
	a, err := spawnPooled(e, pool, "queue", "selfstopper", sel, fakeLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	ref.pid = a.pid
	e.Send(ref.pid, "stop yourself")
	<-sel.stopped
	returned := make(chan struct{})
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		ref.stop(ctx, e)
		close(returned)
	}()
	time.Sleep(20 * time.Millisecond) // the node's stop arrives while the actor is stopping itself
	close(sel.again)
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return once the actor had stopped itself")
	}
	select {
	case <-ref.done:
	default:
		t.Fatal("stop returned before the actor had stopped")
	}
}
