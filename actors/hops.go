package actors

import (
	"bytes"
	"runtime"
	"strconv"
	"sync/atomic"
)

// Hop is one place on a record's path from a producer to its delivery call, and the goroutine it ran
// on there.
type Hop struct {
	Stage     string // "log", "hook", "durable", "queue", "send"
	Goroutine uint64
}

// The stages, in the order a kept record passes them.
const (
	HopLog     = "log"     // Intake.Log, on the producer's goroutine
	HopHook    = "hook"    // the hook actor deciding its batch
	HopDurable = "durable" // the spool calling back once the batch's group is durable
	HopQueue   = "queue"   // the queue actor taking the insert
	HopSend    = "send"    // the session calling the policy's send, which makes the request
)

var hopTracer atomic.Pointer[func(Hop)]

// TraceHops calls f at each stage of every record's path until the returned func is called. It is
// for tests that count the goroutine hand-offs a record costs (ARCHITECTURE.md); with no tracer a
// stage costs one atomic load.
func TraceHops(f func(Hop)) (stop func()) {
	hopTracer.Store(&f)
	return func() { hopTracer.Store(nil) }
}

func traceHop(stage string) {
	if f := hopTracer.Load(); f != nil {
		(*f)(Hop{Stage: stage, Goroutine: goroutineID()})
	}
}

// goroutineID reads the running goroutine's number from its stack header ("goroutine 7 [...").
func goroutineID() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, _ := strconv.ParseUint(string(b), 10, 64)
	return id
}
