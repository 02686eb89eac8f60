package throttle

import (
	"fmt"
	"math"
	"math/bits"
	"time"
)

// Never is the retryAfter Allow returns for a request that can never pass:
// more cells than the burst. It is the largest time.Duration, so a caller
// that schedules a retry at now+Never waits (about 292 years) instead of
// spinning.
const Never = time.Duration(math.MaxInt64)

// Limiter enforces one Spec with the generic cell rate algorithm.
//
// Time is measured in units of 1/Limit ns, which makes the emission
// interval (Period/Limit) an integer, Period in ns, and keeps every decision
// exact. The state is the debt: how far the theoretical arrival time (TAT)
// runs ahead of the last time seen, in those units. A request for n cells
// passes when debt + n*Period stays within the tolerance Burst*Period.
//
// A Limiter is pure (no clock, no goroutines) and not safe for concurrent
// use: its owner serializes calls.
type Limiter struct {
	spec      Spec
	limit     uint64  // Limit
	period    uint64  // Period in ns
	burst     uint64  // spec.Burst()
	tolerance uint128 // burst*period: the most debt a pass may leave
	debt      uint128 // (TAT - last) * limit, within [0, tolerance]
	last      time.Time
	started   bool
}

// NewLimiter returns a Limiter for s with its whole burst available. It
// panics when s.Validate fails; Specs from Parse always pass.
func NewLimiter(s Spec) *Limiter {
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("throttle.NewLimiter: %v", err))
	}
	l := &Limiter{spec: s, limit: s.Limit, period: uint64(s.Period), burst: s.Burst()}
	l.tolerance = mul64(l.burst, l.period)
	return l
}

// Spec returns the spec the Limiter enforces.
func (l *Limiter) Spec() Spec { return l.spec }

// Burst returns the most cells one Allow can ever admit.
func (l *Limiter) Burst() uint64 { return l.burst }

// Allow asks to pass n cells (a batch) at now, all or none.
//
//   - If they fit, it records them and returns (true, 0).
//   - If not, it records nothing and returns false with the exact wait:
//     the same request passes at now+retryAfter and not one nanosecond
//     earlier, if nothing else is admitted meanwhile.
//   - n == 0 always passes and changes nothing.
//   - n > Burst() can never pass: (false, Never).
//
// Time only moves forward for a Limiter: a now earlier than one already
// seen counts as that later time, and retryAfter then includes the gap.
func (l *Limiter) Allow(now time.Time, n uint64) (ok bool, retryAfter time.Duration) {
	if n == 0 {
		return true, 0
	}
	if n > l.burst {
		return false, Never
	}
	behind := l.advance(now)
	want := l.debt.add(mul64(n, l.period)) // n <= burst, so want < 2 * tolerance < 2^128
	if !l.tolerance.less(want) {
		l.debt = want
		return true, 0
	}
	excess := want.sub(l.tolerance) // <= n*period <= limit*period: the quotient fits in 63 bits
	wait := time.Duration(excess.divCeil(l.limit))
	if behind > Never-wait {
		return false, Never
	}
	return false, wait + behind
}

// advance pays off the debt for the time elapsed since the last call and
// moves last to now. When now is before last it changes nothing and
// returns how far behind now is.
func (l *Limiter) advance(now time.Time) (behind time.Duration) {
	if !l.started {
		l.started, l.last = true, now
		return 0
	}
	if now.Before(l.last) {
		return l.last.Sub(now)
	}
	elapsed := now.Sub(l.last) // saturates at Never, which clears any debt anyway
	l.debt = l.debt.subSat(mul64(uint64(elapsed), l.limit))
	l.last = now
	return 0
}

// uint128 is an unsigned 128-bit integer, enough for period*limit products.
type uint128 struct{ hi, lo uint64 }

func mul64(a, b uint64) uint128 {
	hi, lo := bits.Mul64(a, b)
	return uint128{hi, lo}
}

// add returns x+y; callers keep the sum below 2^128.
func (x uint128) add(y uint128) uint128 {
	lo, carry := bits.Add64(x.lo, y.lo, 0)
	hi, _ := bits.Add64(x.hi, y.hi, carry)
	return uint128{hi, lo}
}

// sub returns x-y; callers ensure y <= x.
func (x uint128) sub(y uint128) uint128 {
	lo, borrow := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, borrow)
	return uint128{hi, lo}
}

// subSat returns x-y, or 0 when y > x.
func (x uint128) subSat(y uint128) uint128 {
	if x.less(y) {
		return uint128{}
	}
	return x.sub(y)
}

func (x uint128) less(y uint128) bool {
	return x.hi < y.hi || x.hi == y.hi && x.lo < y.lo
}

// divCeil returns ceil(x/d); callers ensure the quotient fits in 64 bits
// (x.hi < d).
func (x uint128) divCeil(d uint64) uint64 {
	q, r := bits.Div64(x.hi, x.lo, d)
	if r != 0 {
		q++
	}
	return q
}
