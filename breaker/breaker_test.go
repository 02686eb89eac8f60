package breaker

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// breaker is the method set Core and Breaker share; every test below runs against both.
type breaker interface {
	Config() Config
	Gate(now time.Time) (Gate, time.Time)
	ClaimProbe(now time.Time) bool
	Record(answered, probe bool, now time.Time) bool
	State() (state State, opened, closed uint64)
}

var (
	_ breaker = (*Core)(nil)
	_ breaker = (*Breaker)(nil)
)

// impls makes each implementation from a configuration.
var impls = []struct {
	name string
	make func(Config) breaker
}{
	{"Core", func(cfg Config) breaker { c := NewCore(cfg); return &c }},
	{"Breaker", func(cfg Config) breaker { return New("make.webhook|webhook", cfg) }},
}

// each runs test against every implementation.
func each(t *testing.T, test func(t *testing.T, mk func(Config) breaker)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) { test(t, im.make) })
	}
}

// script is a breaker on a timeline that only the test moves, with terse assertions.
type script struct {
	t   *testing.T
	b   breaker
	now time.Time
}

func (s *script) at() time.Duration { return s.now.Sub(t0) }

func (s *script) gate(want string) {
	s.t.Helper()
	g, until := s.b.Gate(s.now)
	got := g.String()
	if g == Paused {
		got += fmt.Sprintf(" until +%v", until.Sub(t0))
	} else if !until.IsZero() {
		got += fmt.Sprintf(" (with a time +%v)", until.Sub(t0))
	}
	if got != want {
		s.t.Fatalf("at +%v: gate %s, want %s", s.at(), got, want)
	}
}

func (s *script) record(answered, probe, wantChanged bool) {
	s.t.Helper()
	if changed := s.b.Record(answered, probe, s.now); changed != wantChanged {
		s.t.Fatalf("at +%v: Record(%v, %v) reported change %v, want %v", s.at(), answered, probe, changed, wantChanged)
	}
}

func (s *script) claim(want bool) {
	s.t.Helper()
	if got := s.b.ClaimProbe(s.now); got != want {
		s.t.Fatalf("at +%v: ClaimProbe %v, want %v", s.at(), got, want)
	}
}

func (s *script) state(want State, opened, closed uint64) {
	s.t.Helper()
	if st, o, c := s.b.State(); st != want || o != opened || c != closed {
		s.t.Fatalf("at +%v: state %v, opened %d, closed %d; want %v, %d, %d", s.at(), st, o, c, want, opened, closed)
	}
}

// TestScript drives a breaker through open, a failed probe, a longer open period, a good probe and
// closed again (the script of the breaker queue used to have).
func TestScript(t *testing.T) {
	each(t, func(t *testing.T, mk func(Config) breaker) {
		s := &script{t: t, b: mk(Config{Failures: 3, OpenFor: 10 * time.Second, MaxOpenFor: 15 * time.Second}), now: t0}
		s.gate("flowing")
		s.state(Closed, 0, 0)
		s.record(false, false, false)
		s.record(false, false, false)
		s.gate("flowing") // below the threshold
		s.state(Closed, 0, 0)
		s.record(false, false, true) // the third consecutive failure opens it
		s.gate("paused until +10s")
		s.state(Open, 1, 0)
		s.claim(false)                // nothing while open
		s.record(false, false, false) // outcomes of batches sent before it opened are ignored
		s.record(true, false, false)
		s.record(true, true, false) // no probe is out: not a probe's outcome
		s.state(Open, 1, 0)
		s.now = s.now.Add(9 * time.Second)
		s.gate("paused until +10s")
		s.claim(false)
		s.now = s.now.Add(time.Second)
		s.gate("probe")
		s.state(Open, 1, 0) // open until the probe is claimed
		s.claim(true)
		s.state(HalfOpen, 1, 0)
		s.gate("paused until +12.5s") // the probe is out: others look again in OpenFor/4
		s.claim(false)                // a second caller gets no probe
		s.record(true, false, false)  // a late batch's answer is not the probe's
		s.state(HalfOpen, 1, 0)
		s.now = s.now.Add(time.Second)
		s.gate("paused until +13.5s")
		s.record(false, true, true) // the probe failed: open again, for twice as long (capped at 15s)
		s.state(Open, 2, 0)
		s.gate("paused until +26s")
		s.record(false, true, false) // that probe is over
		s.now = t0.Add(26*time.Second - time.Nanosecond)
		s.gate("paused until +26s")
		s.claim(false)
		s.now = t0.Add(26 * time.Second)
		s.gate("probe")
		s.claim(true)
		s.claim(false)
		s.record(true, true, true) // a good probe closes it
		s.gate("flowing")
		s.state(Closed, 2, 1)
		s.record(true, true, false) // closed: a stray probe flag changes nothing
		s.record(false, false, false)
		s.record(true, false, false) // a success resets the consecutive failures
		s.record(false, false, false)
		s.record(false, false, false)
		s.gate("flowing")
		s.state(Closed, 2, 1)
		s.record(false, false, true) // the third in a row
		s.gate("paused until +36s")  // and the open period is back to OpenFor
		s.state(Open, 3, 1)
	})
}

// TestOpenPeriodDoubles: each failed probe doubles the open period up to MaxOpenFor, and closing
// resets it.
func TestOpenPeriodDoubles(t *testing.T) {
	each(t, func(t *testing.T, mk func(Config) breaker) {
		b := mk(Config{Failures: 1, OpenFor: 10 * time.Second, MaxOpenFor: 35 * time.Second})
		now := t0
		b.Record(false, false, now)
		for i, want := range []time.Duration{10, 20, 35, 35, 35} {
			g, until := b.Gate(now)
			if g != Paused || until.Sub(now) != want*time.Second {
				t.Fatalf("open %d: gate %v until +%v, want paused for %vs", i+1, g, until.Sub(now), int(want))
			}
			now = until
			if !b.ClaimProbe(now) {
				t.Fatalf("open %d: no probe at the end of the open period", i+1)
			}
			if !b.Record(false, true, now) {
				t.Fatalf("open %d: the failed probe changed nothing", i+1)
			}
		}
		now = now.Add(35 * time.Second)
		if !b.ClaimProbe(now) || !b.Record(true, true, now) {
			t.Fatal("the good probe did not close it")
		}
		b.Record(false, false, now)
		if g, until := b.Gate(now); g != Paused || until.Sub(now) != 10*time.Second {
			t.Fatalf("after closing: gate %v until +%v, want paused for 10s", g, until.Sub(now))
		}
		if st, opened, closed := b.State(); st != Open || opened != 7 || closed != 1 {
			t.Fatalf("state %v, opened %d, closed %d", st, opened, closed)
		}
	})
}

// TestRecheck: while the probe is out, others look again in a quarter of OpenFor, at least a second.
func TestRecheck(t *testing.T) {
	for _, c := range []struct{ openFor, want time.Duration }{
		{10 * time.Second, 2500 * time.Millisecond},
		{2 * time.Second, time.Second},
		{time.Minute, 15 * time.Second},
	} {
		each(t, func(t *testing.T, mk func(Config) breaker) {
			b := mk(Config{Failures: 1, OpenFor: c.openFor})
			b.Record(false, false, t0)
			now := t0.Add(c.openFor)
			if !b.ClaimProbe(now) {
				t.Fatal("no probe")
			}
			now = now.Add(time.Hour) // however long the probe takes
			if g, until := b.Gate(now); g != Paused || until.Sub(now) != c.want {
				t.Fatalf("OpenFor %v: gate %v in %v, want paused for %v", c.openFor, g, until.Sub(now), c.want)
			}
		})
	}
}

func TestNormalized(t *testing.T) {
	for _, c := range []struct{ in, want Config }{
		{Config{}, Config{Failures: 5, OpenFor: 10 * time.Second, MaxOpenFor: 5 * time.Minute}},
		{Config{Failures: 2, OpenFor: -time.Second}, Config{Failures: 2, OpenFor: 10 * time.Second, MaxOpenFor: 5 * time.Minute}},
		{Config{Failures: 1, OpenFor: time.Second, MaxOpenFor: 3 * time.Second}, Config{Failures: 1, OpenFor: time.Second, MaxOpenFor: 3 * time.Second}},
		{Config{OpenFor: 10 * time.Minute}, Config{Failures: 5, OpenFor: 10 * time.Minute, MaxOpenFor: 10 * time.Minute}},
		{Config{OpenFor: 10 * time.Second, MaxOpenFor: 5 * time.Second}, Config{Failures: 5, OpenFor: 10 * time.Second, MaxOpenFor: 5 * time.Minute}},
	} {
		if got := c.in.Normalized(); got != c.want {
			t.Errorf("%+v.Normalized() = %+v, want %+v", c.in, got, c.want)
		}
		for _, im := range impls {
			if got := im.make(c.in).Config(); got != c.want {
				t.Errorf("%s(%+v).Config() = %+v, want %+v", im.name, c.in, got, c.want)
			}
		}
	}
	// The defaults apply: five failures open it, for ten seconds.
	each(t, func(t *testing.T, mk func(Config) breaker) {
		s := &script{t: t, b: mk(Config{}), now: t0}
		for range 4 {
			s.record(false, false, false)
		}
		s.gate("flowing")
		s.record(false, false, true)
		s.gate("paused until +10s")
	})
}

func TestStrings(t *testing.T) {
	for v, want := range map[fmt.Stringer]string{
		Closed: "closed", HalfOpen: "half-open", Open: "open",
		Flowing: "flowing", Paused: "paused", Probe: "probe",
	} {
		if got := v.String(); got != want {
			t.Errorf("%d: %q, want %q", v, got, want)
		}
	}
}

// pair drives a Core and a Breaker through the same steps and fails at the first difference.
type pair struct {
	t    testing.TB
	core Core
	gob  *Breaker
	now  time.Time
	out  bool // the last ClaimProbe succeeded and its probe is not recorded yet
	log  []entry
}

// entry is a step, kept unformatted until a failure shows the last few.
type entry struct {
	op              int
	d               time.Duration
	answered, probe bool
	core, gobreaker bool // what ClaimProbe or Record returned
}

func (e entry) String() string {
	switch e.op {
	case 0:
		return fmt.Sprintf("+%v", e.d)
	case 1:
		return "gate"
	case 2:
		return fmt.Sprintf("claim=%v/%v", e.core, e.gobreaker)
	default:
		return fmt.Sprintf("record(%v,%v)=%v/%v", e.answered, e.probe, e.core, e.gobreaker)
	}
}

func newPair(t testing.TB, cfg Config) *pair {
	return &pair{t: t, core: NewCore(cfg), gob: New("diff", cfg), now: t0}
}

func (p *pair) failf(format string, args ...any) {
	p.t.Helper()
	tail := p.log[max(0, len(p.log)-12):]
	p.t.Fatalf("after %d steps (last: %v): %s", len(p.log), tail, fmt.Sprintf(format, args...))
}

// step is one operation: 0 advance the time by d, 1 Gate, 2 ClaimProbe, 3 Record. Gate and State
// are compared after every step.
func (p *pair) step(op int, d time.Duration, answered, probe bool) {
	p.t.Helper()
	switch op {
	case 0:
		p.now = p.now.Add(d)
		p.log = append(p.log, entry{op: 0, d: d})
	case 1:
		p.log = append(p.log, entry{op: 1})
	case 2:
		c, g := p.core.ClaimProbe(p.now), p.gob.ClaimProbe(p.now)
		p.log = append(p.log, entry{op: 2, core: c, gobreaker: g})
		if c != g {
			p.failf("ClaimProbe: Core %v, Breaker %v", c, g)
		}
		if c {
			p.out = true
		}
	case 3:
		probe = probe && p.out
		if probe {
			p.out = false
		}
		c, g := p.core.Record(answered, probe, p.now), p.gob.Record(answered, probe, p.now)
		p.log = append(p.log, entry{op: 3, answered: answered, probe: probe, core: c, gobreaker: g})
		if c != g {
			p.failf("Record(%v, %v): Core %v, Breaker %v", answered, probe, c, g)
		}
	}
	cg, cu := p.core.Gate(p.now)
	gg, gu := p.gob.Gate(p.now)
	if cg != gg || !cu.Equal(gu) {
		p.failf("Gate: Core %v %v, Breaker %v %v", cg, cu.Sub(t0), gg, gu.Sub(t0))
	}
	cs, co, cc := p.core.State()
	gs, gopen, gc := p.gob.State()
	if cs != gs || co != gopen || cc != gc {
		p.failf("State: Core %v %d %d, Breaker %v %d %d", cs, co, cc, gs, gopen, gc)
	}
}

// TestDifferential drives Core and Breaker with the same pseudo-random steps.
func TestDifferential(t *testing.T) {
	var opened, closed uint64
	for seed := range uint64(40) {
		r := rand.New(rand.NewPCG(seed, 0x6272656b))
		cfg := Config{Failures: r.Uint32N(6), OpenFor: time.Duration(r.IntN(30)) * time.Second,
			MaxOpenFor: time.Duration(r.IntN(120)) * time.Second}
		p := newPair(t, cfg)
		span := int64(2 * p.core.Config().MaxOpenFor)
		for range 4000 {
			op := r.IntN(4)
			var d time.Duration
			switch r.IntN(4) {
			case 0: // a hair
				d = time.Duration(r.IntN(3))
			case 1: // up to a few seconds
				d = time.Duration(r.Int64N(int64(5 * time.Second)))
			default: // anywhere across an open period
				d = time.Duration(r.Int64N(span))
			}
			p.step(op, d, r.IntN(3) > 0, r.IntN(4) > 0)
		}
		_, o, c := p.core.State()
		opened, closed = opened+o, closed+c
	}
	if opened < 100 || closed < 50 {
		t.Fatalf("the steps opened %d and closed %d times: too few to compare much", opened, closed)
	}
}

// FuzzDifferential drives Core and Breaker with steps read from the input: three bytes of
// configuration, then a byte a step (two bits of operation, the rest its argument).
func FuzzDifferential(f *testing.F) {
	f.Add([]byte{3, 10, 15, 3, 3, 3, 0x80, 2, 2, 0x03, 0xfc, 2, 0x07})
	f.Add([]byte{1, 1, 0, 3, 0xfc, 2, 3, 0xfc, 2, 0x0f, 0xfc, 2, 0x0f, 3})
	f.Add([]byte{0, 0, 0, 3, 3, 3, 3, 3, 0xfc, 0xfc, 2, 1, 0x0b, 2})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 3 {
			return
		}
		cfg := Config{Failures: uint32(in[0] % 8), OpenFor: time.Duration(in[1]%64) * time.Second,
			MaxOpenFor: time.Duration(in[2]) * time.Second}
		p := newPair(t, cfg)
		unit := p.core.Config().OpenFor / 16
		for _, b := range in[3:] {
			arg := b >> 2
			// An advance of arg units (up to four open periods); a Record answered if bit 2 is set,
			// a probe's outcome if bit 3 is.
			p.step(int(b&3), time.Duration(arg)*unit, arg&1 != 0, arg&2 != 0)
		}
	})
}
