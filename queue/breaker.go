package queue

import (
	"errors"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
)

// BreakerConfig sets a destination's circuit breaker (hookd extensions of make_egress_path).
type BreakerConfig struct {
	Failures   uint32        // consecutive transient failures that open it; default 5
	OpenFor    time.Duration // how long it stays open before one probe; default 10 s
	MaxOpenFor time.Duration // the open period doubles after each failed probe, up to this; default 5 min
}

func (c BreakerConfig) normalized() BreakerConfig {
	if c.Failures == 0 {
		c.Failures = 5
	}
	if c.OpenFor <= 0 {
		c.OpenFor = 10 * time.Second
	}
	if c.MaxOpenFor < c.OpenFor {
		c.MaxOpenFor = max(5*time.Minute, c.OpenFor)
	}
	return c
}

// BreakerState is a breaker's state as metrics and the admin API show it.
type BreakerState uint8

// The breaker states.
const (
	Closed   BreakerState = iota // deliveries flow
	HalfOpen                     // one probe is allowed or out
	Open                         // nothing is attempted until the open period ends
)

func (s BreakerState) String() string {
	return [...]string{"closed", "half-open", "open"}[s]
}

// Breaker is the circuit breaker of one destination (constructor and site), shared by the queues
// that deliver there. It wraps a gobreaker two-step breaker, which counts outcomes and moves
// between states, and adds what gobreaker takes from the wall clock: when the open period ends is
// decided here, from the time the caller passes, so the breaker can be driven by a fake clock.
// (gobreaker's own timeout is set to a nanosecond: once this type lets a probe through, gobreaker
// is already half-open.) Safe for concurrent use.
type Breaker struct {
	cfg BreakerConfig
	cb  *gobreaker.TwoStepCircuitBreaker[struct{}]

	mu       sync.Mutex
	now      time.Time // the time of the call in progress, for the state-change callback
	state    BreakerState
	openedAt time.Time
	openFor  time.Duration
	probes   int // probes out
	opened   uint64
	closed   uint64
}

// errTransient is what a failed attempt reports to gobreaker.
var errTransient = errors.New("transient failure")

// NewBreaker returns a closed breaker.
func NewBreaker(name string, cfg BreakerConfig) *Breaker {
	b := &Breaker{cfg: cfg.normalized()}
	b.openFor = b.cfg.OpenFor
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     time.Nanosecond,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.cfg.Failures },
		// Called by gobreaker, under its lock, from within a call of ours that holds b.mu.
		OnStateChange: func(_ string, from, to gobreaker.State) { b.changed(from, to) },
	})
	return b
}

func (b *Breaker) changed(from, to gobreaker.State) {
	switch to {
	case gobreaker.StateOpen:
		if from == gobreaker.StateHalfOpen { // a failed probe: wait longer next time
			b.openFor = min(2*b.openFor, b.cfg.MaxOpenFor)
		}
		b.state, b.openedAt = Open, b.now
		b.opened++
	case gobreaker.StateHalfOpen:
		b.state = HalfOpen
	case gobreaker.StateClosed:
		b.state, b.openFor = Closed, b.cfg.OpenFor
		b.closed++
	}
}

// Check tells a queue what it may do now: Flowing; Paused until a time (open, or a probe of another
// queue is out); or Probe (the open period is over: send one batch).
func (b *Breaker) Check(now time.Time) (Gate, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.state == Closed:
		return Flowing, time.Time{}
	case b.state == Open && now.Before(b.openedAt.Add(b.openFor)):
		return Paused, b.openedAt.Add(b.openFor)
	case b.probes > 0:
		return Paused, now.Add(max(b.cfg.OpenFor/4, time.Second)) // look again once the probe may be over
	default:
		return Probe, time.Time{}
	}
}

// Allow registers a batch about to be sent and returns the function that reports how it went
// (true: the destination answered, delivered or bounced; false: it failed transiently). It refuses
// while open, and in half-open once the probe is out.
func (b *Breaker) Allow(now time.Time) (func(ok bool, now time.Time), bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == Open && now.Before(b.openedAt.Add(b.openFor)) {
		return nil, false
	}
	b.now = now
	done, err := b.cb.Allow()
	if err != nil {
		return nil, false
	}
	probe := b.state == HalfOpen
	if probe {
		b.probes++
	}
	return func(ok bool, at time.Time) {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.now = at
		if probe {
			b.probes--
		}
		if ok {
			done(nil)
		} else {
			done(errTransient)
		}
	}, true
}

// State reports the breaker's state, and how many times it opened and closed.
func (b *Breaker) State() (state BreakerState, opened, closed uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state, b.opened, b.closed
}
