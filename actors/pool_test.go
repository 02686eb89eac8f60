package actors

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// recordingPooled records what it handles and fails the test if two of its messages are ever
// handled at once.
type recordingPooled struct {
	t       *testing.T
	mu      sync.Mutex
	got     []any
	busy    atomic.Bool
	stopped chan struct{}
}

func (r *recordingPooled) Receive(c *pooledCtx) {
	if !r.busy.CompareAndSwap(false, true) {
		r.t.Errorf("%s: two messages handled at once", c.PID().ID)
	}
	defer r.busy.Store(false)
	switch m := c.Message().(type) {
	case string:
		if m == "panic" {
			panic("on purpose")
		}
		if m == "ask" {
			c.Respond("answer from " + c.PID().ID)
		}
	case actor.Stopped:
		close(r.stopped)
	}
	r.mu.Lock()
	r.got = append(r.got, c.Message())
	r.mu.Unlock()
}

func (r *recordingPooled) messages() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]any(nil), r.got...)
}

// Many actors on two workers: each gets Started first, then its messages in order, one at a time,
// then Stopped last; a stop waits for the messages sent before it.
func TestPooledActorsOrderAndStop(t *testing.T) {
	e := fakeEngine(t)
	pool := newActorPool(2)
	defer pool.close()
	const actors, msgs = 20, 200
	recs := make([]*recordingPooled, actors)
	as := make([]*pooled, actors)
	for i := range recs {
		recs[i] = &recordingPooled{t: t, stopped: make(chan struct{})}
		a, err := spawnPooled(e, pool, "test", fmt.Sprintf("a%d", i), recs[i], fakeLog, nil)
		if err != nil {
			t.Fatal(err)
		}
		as[i] = a
	}
	if _, err := spawnPooled(e, pool, "test", "a0", &recordingPooled{t: t}, fakeLog, nil); err == nil {
		t.Error("a duplicate id was spawned")
	}
	var wg sync.WaitGroup
	for _, a := range as {
		wg.Go(func() {
			for n := range msgs {
				e.Send(a.pid, n)
			}
			e.Send(a.pid, stopActor{})
		})
	}
	wg.Wait()
	for i, a := range as {
		select {
		case <-a.Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("a%d did not stop", i)
		}
		got := recs[i].messages()
		if len(got) != msgs+2 {
			t.Fatalf("a%d handled %d messages, want %d", i, len(got), msgs+2)
		}
		if _, ok := got[0].(actor.Started); !ok {
			t.Errorf("a%d: first %T, want Started", i, got[0])
		}
		if _, ok := got[len(got)-1].(actor.Stopped); !ok {
			t.Errorf("a%d: last %T, want Stopped", i, got[len(got)-1])
		}
		for n := range msgs {
			if got[n+1] != n {
				t.Fatalf("a%d: message %d is %v", i, n, got[n+1])
			}
		}
		if e.Registry.GetPID("test", fmt.Sprintf("a%d", i)) != nil {
			t.Errorf("a%d is still registered after it stopped", i)
		}
	}
}

// A panic is counted and logged, and the actor goes on; a request is answered by Respond.
func TestPooledActorPanicAndRespond(t *testing.T) {
	e := fakeEngine(t)
	pool := newActorPool(1)
	defer pool.close()
	var panics atomic.Uint64
	r := &recordingPooled{t: t, stopped: make(chan struct{})}
	a, err := spawnPooled(e, pool, "test", "p", r, fakeLog, &panics)
	if err != nil {
		t.Fatal(err)
	}
	e.Send(a.pid, "panic")
	res, err := e.Request(a.pid, "ask", 5*time.Second).Result()
	if err != nil || res != "answer from "+a.pid.ID {
		t.Fatalf("answer %v, %v", res, err)
	}
	if panics.Load() != 1 {
		t.Errorf("panics %d, want 1", panics.Load())
	}
}

// Idle pooled actors hold no goroutine: a thousand of them, each with a message handled, add
// only the pool's workers.
func TestPooledActorsHoldNoGoroutine(t *testing.T) {
	e := fakeEngine(t)
	before := runtime.NumGoroutine()
	pool := newActorPool(2)
	defer pool.close()
	var handled sync.WaitGroup
	for i := range 1000 {
		r := &countingPooled{done: &handled}
		handled.Add(2) // Started and the message
		a, err := spawnPooled(e, pool, "idle", fmt.Sprintf("i%d", i), r, fakeLog, nil)
		if err != nil {
			t.Fatal(err)
		}
		e.Send(a.pid, "hello")
	}
	handled.Wait()
	if n := runtime.NumGoroutine() - before; n > 20 {
		t.Errorf("%d goroutines more for 1000 idle pooled actors, want about the pool's 2", n)
	}
}

type countingPooled struct{ done *sync.WaitGroup }

func (c *countingPooled) Receive(ctx *pooledCtx) {
	switch ctx.Message().(type) {
	case actor.Started, string:
		c.done.Done()
	}
}
