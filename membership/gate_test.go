package membership

import (
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// The transport gate: messages to an address whose connection dropped wait for a probe; they go,
// in order, when it connects and are dropped when it does not; others pass at once.
func TestGateHoldsForTheProbe(t *testing.T) {
	var mu sync.Mutex
	var sent []any
	answer := make(chan bool)
	g := &gate{down: map[string]*downAddr{"dead:1": {}},
		dial: func(string) bool { return <-answer },
		send: func(_ *actor.PID, msg any, _ *actor.PID) {
			mu.Lock()
			defer mu.Unlock()
			sent = append(sent, msg)
		}}
	to := actor.NewPID("dead:1", "x/y")
	if g.hold(heldMsg{pid: actor.NewPID("live:1", "x/y"), msg: 0}) {
		t.Fatal("a message to an address that never dropped was held")
	}
	for i := 1; i <= 3; i++ {
		if !g.hold(heldMsg{pid: to, msg: i}) {
			t.Fatalf("message %d to a dropped address passed", i)
		}
	}
	answer <- true // the probe connects: 1, 2, 3 go in order
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(sent)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("sent %v after the probe connected", sent)
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	got := append([]any(nil), sent...)
	mu.Unlock()
	if got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("sent %v, want 1 2 3", got)
	}
	if g.hold(heldMsg{pid: to, msg: 4}) {
		t.Fatal("held after the address answered")
	}

	g.down["dead:1"] = &downAddr{}
	g.hold(heldMsg{pid: to, msg: 5})
	answer <- false // nothing listens: what waited is dropped, the address stays down
	for {
		g.mu.Lock()
		probing := g.down["dead:1"].probing
		g.mu.Unlock()
		if !probing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !g.hold(heldMsg{pid: to, msg: 6}) {
		t.Fatal("passed though the probe failed")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sent) != 3 {
		t.Fatalf("sent %v: a message that waited for a failed probe went out", sent)
	}
}
