package throttle

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

const ms = time.Millisecond

// step is one Allow call on a fake timeline: at t0+at, ask for n cells.
type step struct {
	at    time.Duration
	n     uint64
	ok    bool
	retry time.Duration
}

// timelineCase is one case of TestLimiterTimeline.
type timelineCase struct {
	name  string
	spec  string
	steps []step
}

var timelineCases = []timelineCase{
	{name: "a burst passes, then the steady rate", spec: "5/s", steps: []step{
		{0, 1, true, 0}, {0, 1, true, 0}, {0, 1, true, 0}, {0, 1, true, 0}, {0, 1, true, 0},
		{0, 1, false, 200 * ms},
		{199 * ms, 1, false, 1 * ms},
		{200 * ms, 1, true, 0},
		{200 * ms, 1, false, 200 * ms},
		{400 * ms, 1, true, 0},
	}},
	{name: "refusals consume nothing", spec: "1/s", steps: []step{
		{0, 1, true, 0},
		{0, 1, false, time.Second}, {0, 1, false, time.Second}, {500 * ms, 1, false, 500 * ms},
		{time.Second, 1, true, 0},
	}},
	{name: "a batch passes whole or not at all", spec: "10/s", steps: []step{
		{0, 10, true, 0},
		{0, 1, false, 100 * ms},
		{500 * ms, 6, false, 100 * ms},
		{500 * ms, 5, true, 0},
		{500 * ms, 1, false, 100 * ms},
	}},
	{name: "max_burst spreads the limit out", spec: "60/m,max_burst=2", steps: []step{
		{0, 1, true, 0}, {0, 1, true, 0},
		{0, 1, false, time.Second},
		{0, 3, false, Never},
		{2 * time.Second, 3, false, Never},
		{2 * time.Second, 2, true, 0},
	}},
	{name: "a batch above the burst is never allowed, even when idle", spec: "5/s", steps: []step{
		{0, 6, false, Never},
		{time.Hour, 6, false, Never},
		{time.Hour, 5, true, 0},
	}},
	{name: "intervals of a third of a second do not drift", spec: "3/s", steps: []step{
		{0, 3, true, 0},
		{0, 1, false, 333333334},
		{333333333, 1, false, 1},
		{333333334, 1, true, 0},
		{333333334, 1, false, 333333333},
		{time.Second, 2, true, 0},
		{time.Second, 1, false, 333333334},
		{2 * time.Second, 3, true, 0},
	}},
	{name: "a long idle restores the whole burst", spec: "100/h,max_burst=10", steps: []step{
		{0, 10, true, 0},
		{0, 1, false, 36 * time.Second},
		{360*time.Second - 1, 10, false, 1},
		{360 * time.Second, 10, true, 0},
		{48 * time.Hour, 10, true, 0},
		{48 * time.Hour, 1, false, 36 * time.Second},
	}},
	{name: "zero cells always pass and change nothing", spec: "1/m", steps: []step{
		{0, 1, true, 0},
		{0, 0, true, 0},
		{0, 1, false, time.Minute},
		{30 * time.Second, 0, true, 0},
		{30 * time.Second, 1, false, 30 * time.Second},
	}},
	{name: "time running backwards counts as the latest time seen", spec: "1/s", steps: []step{
		{10 * time.Second, 1, true, 0},
		{5 * time.Second, 1, false, 6 * time.Second},
		{5 * time.Second, 0, true, 0},
		{11 * time.Second, 1, true, 0},
	}},
	{name: "the first call finds the burst available", spec: "2/d", steps: []step{
		{-1000 * time.Hour, 2, true, 0},
		{-1000 * time.Hour, 1, false, 12 * time.Hour},
	}},
	{name: "the largest limit", spec: "18446744073709551615/s", steps: []step{
		{0, math.MaxUint64, true, 0},
		{0, 1, false, 1},
		{1, 1, true, 0},
	}},
	{name: "the longest period", spec: "1/9223372036s", steps: []step{
		{0, 1, true, 0},
		{0, 1, false, 9223372036 * time.Second},
		{9223372036*time.Second - 1, 1, false, 1},
		{9223372036 * time.Second, 1, true, 0},
	}},
}

func TestLimiterTimeline(t *testing.T) {
	for _, tt := range timelineCases {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Parse(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			l := NewLimiter(spec)
			for i, s := range tt.steps {
				ok, retry := l.Allow(t0.Add(s.at), s.n)
				if ok != s.ok || retry != s.retry {
					t.Fatalf("step %d: Allow(t0+%v, %d) = (%v, %v), want (%v, %v)",
						i, s.at, s.n, ok, retry, s.ok, s.retry)
				}
			}
		})
	}
}

func TestNewLimiterPanicsOnInvalidSpec(t *testing.T) {
	for _, s := range []Spec{{Period: time.Second}, {Limit: 1}, {Limit: 1, Period: -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewLimiter(%+v) did not panic", s)
				}
			}()
			NewLimiter(s)
		}()
	}
	l := NewLimiter(Spec{Limit: 4, Period: time.Second, MaxBurst: 9})
	if l.Burst() != 4 || l.Spec().MaxBurst != 9 {
		t.Fatalf("Burst() = %d, Spec() = %+v", l.Burst(), l.Spec())
	}
}

// admission is one admitted request.
type admission struct {
	at time.Time
	n  uint64
}

// checkWindows fails when some window [a.at, b.at] between two admissions
// holds more than (b-a)*Limit/Period + Burst cells, compared exactly:
// sum*Period <= (b-a)*Limit + Burst*Period. With prefix sums S and times t
// (from t0) the check for the window i..j reads
// S[j]*P - t[j]*L - B*P <= S[i-1]*P - t[i]*L, so a running minimum of the
// right side covers every window in one pass.
func checkWindows(t *testing.T, spec Spec, admitted []admission) {
	t.Helper()
	if j := windowViolation(spec, admitted); j >= 0 {
		t.Fatalf("spec %v: the window ending at admission %d (t0+%v) holds more than rate*window + burst",
			spec, j, admitted[j].at.Sub(t0))
	}
}

// windowViolation returns the index of an admission that ends an
// over-full window, or -1.
func windowViolation(spec Spec, admitted []admission) int {
	limit := new(big.Int).SetUint64(spec.Limit)
	period := big.NewInt(int64(spec.Period))
	burstTerm := new(big.Int).Mul(new(big.Int).SetUint64(spec.Burst()), period)
	prefix := new(big.Int) // S[j-1], then S[j]
	var best *big.Int      // min over i <= j of S[i-1]*P - t[i]*L
	for j, a := range admitted {
		at := new(big.Int).Mul(big.NewInt(int64(a.at.Sub(t0))), limit)
		right := new(big.Int).Sub(new(big.Int).Mul(prefix, period), at)
		if best == nil || right.Cmp(best) < 0 {
			best = right
		}
		prefix.Add(prefix, new(big.Int).SetUint64(a.n))
		left := new(big.Int).Mul(prefix, period)
		left.Sub(left, at).Sub(left, burstTerm)
		if left.Cmp(best) > 0 {
			return j
		}
	}
	return -1
}

func TestWindowViolationCatchesOverfullWindows(t *testing.T) {
	spec := Spec{Limit: 2, Period: time.Second, MaxBurst: 1}
	tests := []struct {
		admitted []admission
		want     int
	}{
		{[]admission{{t0, 1}, {t0.Add(500 * time.Millisecond), 1}}, -1},
		{[]admission{{t0, 1}, {t0.Add(500*time.Millisecond - 1), 1}}, 1},
		{[]admission{{t0, 2}}, 0},
		{[]admission{{t0, 1}, {t0.Add(time.Hour), 1}, {t0.Add(time.Hour + 499*time.Millisecond), 1}}, 2},
		{[]admission{{t0, 1}, {t0.Add(time.Second), 1}, {t0.Add(1500 * time.Millisecond), 1}}, -1},
		{[]admission{{t0, 1}, {t0.Add(time.Second), 1}, {t0.Add(1100 * time.Millisecond), 1}}, 2},
	}
	for i, tt := range tests {
		if got := windowViolation(spec, tt.admitted); got != tt.want {
			t.Errorf("case %d: windowViolation = %d, want %d", i, got, tt.want)
		}
	}
}

// checkRetry verifies that a refusal's retryAfter is exact: on copies of
// the limiter, the same request fails one nanosecond early and passes on
// time.
func checkRetry(t *testing.T, l *Limiter, now time.Time, n uint64, retry time.Duration) {
	t.Helper()
	if retry == Never {
		if n <= l.Burst() {
			t.Fatalf("Never for n=%d within burst %d", n, l.Burst())
		}
		return
	}
	if retry <= 0 {
		t.Fatalf("refusal with retryAfter %v", retry)
	}
	early, onTime := *l, *l
	if ok, _ := early.Allow(now.Add(retry-1), n); ok {
		t.Fatalf("spec %v: n=%d passed at retryAfter-1ns (%v)", l.spec, n, retry)
	}
	if ok, again := onTime.Allow(now.Add(retry), n); !ok {
		t.Fatalf("spec %v: n=%d refused at retryAfter %v (again %v)", l.spec, n, retry, again)
	}
}

// randomSpec draws a small spec; periods include odd nanosecond counts so
// the emission interval is rarely an integer.
func randomSpec(r *rand.Rand) Spec {
	s := Spec{Limit: 1 + r.Uint64N(50)}
	switch r.IntN(3) {
	case 0:
		s.Period = time.Duration(1+r.IntN(3600)) * time.Second
	case 1:
		s.Period = time.Duration(1 + r.Int64N(int64(time.Second)))
	default:
		s.Period = time.Duration(1 + r.IntN(20))
	}
	if r.IntN(2) == 0 {
		s.MaxBurst = 1 + r.Uint64N(s.Limit+5)
	}
	return s
}

func TestLimiterNeverExceedsRatePlusBurst(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := 0; iter < 300; iter++ {
		spec := randomSpec(r)
		l := NewLimiter(spec)
		now := t0
		var admitted []admission
		for len(admitted) < 150 {
			// Gaps mix bursts (0), sub-interval steps and long idles.
			switch r.IntN(4) {
			case 0:
			case 1:
				now = now.Add(time.Duration(r.Int64N(int64(spec.Period)/int64(spec.Limit) + 2)))
			case 2:
				now = now.Add(time.Duration(r.Int64N(int64(spec.Period) + 1)))
			default:
				now = now.Add(time.Duration(r.Int64N(3 * int64(spec.Period))))
			}
			n := 1 + r.Uint64N(spec.Burst()+1) // sometimes one more than the burst
			ok, retry := l.Allow(now, n)
			if ok {
				admitted = append(admitted, admission{now, n})
				continue
			}
			checkRetry(t, l, now, n, retry)
		}
		checkWindows(t, spec, admitted)
	}
}

func FuzzLimiter(f *testing.F) {
	f.Add(uint64(5), int64(time.Second), uint64(0), []byte{0, 0, 0, 0, 0, 0, 7, 200, 3})
	f.Add(uint64(3), int64(time.Second), uint64(2), []byte{1, 1, 1, 255, 0, 0, 9})
	f.Add(uint64(1<<63), int64(7), uint64(1<<40), []byte{0, 1, 2, 3, 4, 5})
	f.Fuzz(func(t *testing.T, limit uint64, period int64, maxBurst uint64, ops []byte) {
		spec := Spec{Limit: limit, Period: time.Duration(period), MaxBurst: maxBurst}
		if spec.Validate() != nil || len(ops) > 200 {
			return
		}
		l := NewLimiter(spec)
		now := t0
		var admitted []admission
		for i := 0; i+1 < len(ops); i += 2 {
			// The first byte of a pair picks the gap, the second the batch size.
			unit := max(spec.Period/256, 1)
			now = now.Add(time.Duration(ops[i]) * unit)
			n := uint64(ops[i+1])
			if ops[i+1] == 255 {
				n = spec.Burst()
			}
			ok, retry := l.Allow(now, n)
			switch {
			case ok && n > spec.Burst():
				t.Fatalf("n=%d above burst %d admitted", n, spec.Burst())
			case ok && n > 0:
				admitted = append(admitted, admission{now, n})
			case !ok:
				checkRetry(t, l, now, n, retry)
			}
		}
		checkWindows(t, spec, admitted)
	})
}
