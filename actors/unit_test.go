package actors

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

func TestCredits(t *testing.T) {
	t.Run("the credit past the bound is refused until one is returned", func(t *testing.T) {
		c := NewCredits(3)
		for i := 0; i < 3; i++ {
			if !c.TryAcquire(1) {
				t.Fatalf("credit %d refused", i+1)
			}
		}
		if c.TryAcquire(1) {
			t.Fatal("credit 4 of 3 granted")
		}
		if c.Waits() != 1 {
			t.Fatalf("waits %d", c.Waits())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := c.Acquire(ctx, 1); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Acquire on a full edge: %v", err)
		}
		c.Release(1)
		if !c.TryAcquire(1) {
			t.Fatal("returned credit not granted")
		}
	})
	t.Run("a waiting Acquire is woken by Release", func(t *testing.T) {
		c := NewCredits(1)
		c.TryAcquire(1)
		got := make(chan error, 1)
		go func() { got <- c.Acquire(context.Background(), 1) }()
		c.Release(1)
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a request larger than the bound waits for an idle edge, then takes it", func(t *testing.T) {
		c := NewCredits(2)
		c.TryAcquire(1)
		if c.TryAcquire(5) {
			t.Fatal("large request granted while the edge was in use")
		}
		c.Release(1)
		if !c.TryAcquire(5) || c.InUse() != 5 {
			t.Fatalf("in use %d", c.InUse())
		}
	})
	t.Run("Force goes past the bound and is counted", func(t *testing.T) {
		c := NewCredits(1)
		c.Force(1)
		c.Force(1)
		if c.InUse() != 2 || c.Forced() != 1 {
			t.Fatalf("in use %d forced %d", c.InUse(), c.Forced())
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		go c.Release(2)
		if err := c.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRecoverer(t *testing.T) {
	e, _ := actor.NewEngine(actor.NewEngineConfig())
	var panics atomic.Uint64
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	got := make(chan int, 3)
	pid := e.Spawn(func() actor.Receiver { return &panicky{got: got} }, "panicky",
		actor.WithID("1"), actor.WithMaxRestarts(0), actor.WithMiddleware(recoverer(log, &panics)))
	for i := 1; i <= 3; i++ {
		e.Send(pid, i)
	}
	for _, want := range []int{1, 3} {
		select {
		case n := <-got:
			if n != want {
				t.Fatalf("got %d, want %d", n, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the actor stopped processing after a panic")
		}
	}
	if panics.Load() != 1 {
		t.Fatalf("panics counted %d", panics.Load())
	}
}

// panicky panics on 2 and counts how many messages it saw, which shows its state survived.
type panicky struct {
	got  chan int
	seen int
}

func (p *panicky) Receive(c *actor.Context) {
	n, ok := c.Message().(int)
	if !ok {
		return
	}
	p.seen++
	if n == 2 {
		panic("two")
	}
	p.got <- p.seen
}
