// Package breaker is the circuit breaker of a destination (a custom_lua constructor and site): after
// Failures consecutive transient failures it opens, lets nothing through for its open period, then
// lets exactly one probe through; the probe's answer closes it, the probe's failure opens it again
// for twice as long (up to MaxOpenFor).
//
// Core is the whole decision as a plain value: no lock, no goroutine, no clock; the time is an
// argument of every call, so a test drives it through hours of failures in microseconds. Breaker is
// the same decision with the counting done by gobreaker, kept beside it and driven by the same
// transcripts. Both belong to one owner (an actor) and are not safe for concurrent use.
package breaker

import "time"

// Config sets a destination's breaker (hookd's extensions of make_egress_path).
type Config struct {
	Failures   uint32        // consecutive transient failures that open it; default 5
	OpenFor    time.Duration // how long it stays open before one probe; default 10 s
	MaxOpenFor time.Duration // the open period doubles after each failed probe, up to this; default 5 min
}

// Normalized returns the configuration with defaults for zero fields.
func (c Config) Normalized() Config {
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

// State is a breaker's state as metrics and the admin API show it.
type State uint8

// The states.
const (
	Closed   State = iota // deliveries flow
	HalfOpen              // the open period is over: one probe is allowed or out
	Open                  // nothing is attempted until the open period ends
)

func (s State) String() string { return [...]string{"closed", "half-open", "open"}[s] }

// Gate is what a breaker lets a queue do now.
type Gate uint8

// The gates.
const (
	Flowing Gate = iota // deliver as usual
	Paused              // hand out nothing until the time returned with it
	Probe               // the open period is over: claim the probe and send one batch
)

func (g Gate) String() string { return [...]string{"flowing", "paused", "probe"}[g] }

// recheck is how soon a queue asks again while another's probe is out.
func (c Config) recheck() time.Duration { return max(c.OpenFor/4, time.Second) }

// Core is a breaker as a pure value. The zero value is not usable; make one with NewCore.
type Core struct {
	cfg      Config
	state    State
	failures uint32 // consecutive transient failures while closed
	openedAt time.Time
	openFor  time.Duration
	probeOut bool
	opened   uint64
	closed   uint64
}

// NewCore returns a closed breaker.
func NewCore(cfg Config) Core {
	cfg = cfg.Normalized()
	return Core{cfg: cfg, openFor: cfg.OpenFor}
}

// Config returns the breaker's configuration, defaults applied.
func (c *Core) Config() Config { return c.cfg }

// Gate tells a queue what it may do at now: Flowing; Paused until a time (open, or a probe is out);
// or Probe (the open period is over and no probe is out).
func (c *Core) Gate(now time.Time) (Gate, time.Time) {
	switch {
	case c.state == Closed:
		return Flowing, time.Time{}
	case c.state == Open && now.Before(c.openedAt.Add(c.openFor)):
		return Paused, c.openedAt.Add(c.openFor)
	case c.probeOut:
		return Paused, now.Add(c.cfg.recheck())
	default:
		return Probe, time.Time{}
	}
}

// ClaimProbe grants the single probe when the open period is over and no probe is out.
func (c *Core) ClaimProbe(now time.Time) bool {
	if g, _ := c.Gate(now); g != Probe {
		return false
	}
	c.state, c.probeOut = HalfOpen, true
	return true
}

// Record takes a batch's outcome: answered when the destination answered (delivered or bounced),
// false for a transient failure; probe when the batch was the probe ClaimProbe granted. Outcomes of
// batches sent before the breaker opened are ignored while it is open or half-open. It reports
// whether the state changed.
func (c *Core) Record(answered, probe bool, now time.Time) bool {
	switch {
	case c.state == Closed && answered:
		c.failures = 0
	case c.state == Closed:
		c.failures++
		if c.failures >= c.cfg.Failures {
			c.open(now)
			return true
		}
	case c.state == HalfOpen && probe && c.probeOut:
		c.probeOut = false
		if answered {
			c.state, c.failures, c.openFor = Closed, 0, c.cfg.OpenFor
			c.closed++
		} else {
			c.openFor = min(2*c.openFor, c.cfg.MaxOpenFor)
			c.open(now)
		}
		return true
	}
	return false
}

func (c *Core) open(now time.Time) {
	c.state, c.openedAt, c.failures = Open, now, 0
	c.opened++
}

// State reports the breaker's state, and how many times it opened and closed. It reads open until
// the probe is claimed, then half-open until the probe's outcome.
func (c *Core) State() (state State, opened, closed uint64) {
	return c.state, c.opened, c.closed
}
