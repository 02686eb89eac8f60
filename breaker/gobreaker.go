package breaker

import (
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"
)

// Breaker is the breaker with the counting done by a gobreaker two-step breaker. gobreaker takes
// its open period from the wall clock; here that is decided from the time the caller passes, and
// gobreaker's own timeout is a nanosecond, so once this type lets a probe through gobreaker is
// already half-open. It makes the same decisions as Core (the tests drive both with the same
// transcripts). Not safe for concurrent use: it belongs to one actor.
type Breaker struct {
	cfg      Config
	cb       *gobreaker.TwoStepCircuitBreaker[struct{}]
	now      time.Time // the time of the call in progress, for the state-change callback
	state    State
	openedAt time.Time
	openFor  time.Duration
	probe    func(error) // the probe's report, while one is out
	opened   uint64
	closed   uint64
}

// errTransient is what a failed attempt reports to gobreaker.
var errTransient = errors.New("transient failure")

// New returns a closed breaker named name (gobreaker's name, for its callbacks).
func New(name string, cfg Config) *Breaker {
	b := &Breaker{cfg: cfg.Normalized()}
	b.openFor = b.cfg.OpenFor
	b.cb = gobreaker.NewTwoStepCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        name,
		MaxRequests: 1,
		Timeout:     time.Nanosecond,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= b.cfg.Failures },
		// Called by gobreaker from within a call of ours.
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

// Config returns the breaker's configuration, defaults applied.
func (b *Breaker) Config() Config { return b.cfg }

// Gate is Core.Gate.
func (b *Breaker) Gate(now time.Time) (Gate, time.Time) {
	switch {
	case b.state == Closed:
		return Flowing, time.Time{}
	case b.state == Open && now.Before(b.openedAt.Add(b.openFor)):
		return Paused, b.openedAt.Add(b.openFor)
	case b.probe != nil:
		return Paused, now.Add(b.cfg.recheck())
	default:
		return Probe, time.Time{}
	}
}

// ClaimProbe is Core.ClaimProbe.
func (b *Breaker) ClaimProbe(now time.Time) bool {
	if g, _ := b.Gate(now); g != Probe {
		return false
	}
	b.now = now
	done, err := b.cb.Allow() // gobreaker moves to half-open (its timeout is over) and lets one through
	if err != nil {
		return false
	}
	b.probe = done
	return true
}

// Record is Core.Record. In the closed state each outcome is a gobreaker request of its own.
func (b *Breaker) Record(answered, probe bool, now time.Time) bool {
	before, opened, closed := b.state, b.opened, b.closed
	b.now = now
	switch {
	case b.state == Closed:
		done, err := b.cb.Allow()
		if err != nil {
			return false
		}
		report(done, answered)
	case b.state == HalfOpen && probe && b.probe != nil:
		done := b.probe
		b.probe = nil
		report(done, answered)
	}
	return b.state != before || b.opened != opened || b.closed != closed
}

func report(done func(error), answered bool) {
	if answered {
		done(nil)
	} else {
		done(errTransient)
	}
}

// State is Core.State.
func (b *Breaker) State() (state State, opened, closed uint64) { return b.state, b.opened, b.closed }
