package throttle

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Spec is a KumoMTA ThrottleSpec: at most Limit cells per Period, in bursts
// of at most MaxBurst.
type Spec struct {
	// Limit is how many cells a Period admits. Parse never yields 0.
	Limit uint64
	// Period is the window Limit applies to. Parse yields whole seconds.
	Period time.Duration
	// MaxBurst caps how many cells may pass at one instant. 0 means "not
	// set", which lets the whole Limit through at once. Values above Limit
	// act like Limit (see Burst).
	MaxBurst uint64
	// Local is KumoMTA's "local:" prefix: keep the throttle in this process
	// even when a shared (redis) store is configured. hookd has no shared
	// store, so it only survives the round trip.
	Local bool
}

// Period units, exactly as KumoMTA spells them (no plurals).
var periodUnits = map[string]uint64{
	"s": 1, "sec": 1, "second": 1,
	"m": 60, "min": 60, "minute": 60,
	"h": 3600, "hr": 3600, "hour": 3600,
	"d": 86400, "day": 86400,
}

const unitList = "s, sec, second, m, min, minute, h, hr, hour, d or day"

// maxPeriodSeconds keeps Period within time.Duration's range.
const maxPeriodSeconds = math.MaxInt64 / uint64(time.Second)

// ParseError says why a throttle spec was refused.
type ParseError struct {
	Spec   string // the text given to Parse
	Reason string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid throttle spec %q: %s", e.Spec, e.Reason)
}

// Parse reads a throttle spec in KumoMTA's syntax:
//
//	[local:]LIMIT/[N]UNIT[,max_burst=BURST]
//
// LIMIT and BURST are unsigned decimal integers in which '_' and ',' are
// ignored anywhere ("1,000", "1_000"; Rust's integer syntax, so one leading
// '+' is allowed too). UNIT is one of s, sec, second, m, min, minute, h,
// hr, hour, d, day; plurals ("hours") are refused, as in KumoMTA. The
// optional N multiplies the unit ("5/5m" is 5 per 300 s). Nothing is
// trimmed: spaces are errors.
//
// KumoMTA accepts three degenerate forms that Parse refuses: a zero period
// ("5/0s", which disables the throttle there), "max_burst=0" (which
// KumoMTA's local throttle treats as a burst of 1) and a period too long to
// represent (which overflows there).
func Parse(s string) (Spec, error) {
	fail := func(format string, args ...any) (Spec, error) {
		return Spec{}, &ParseError{Spec: s, Reason: fmt.Sprintf(format, args...)}
	}
	var spec Spec
	rest, local := strings.CutPrefix(s, "local:")
	spec.Local = local
	rest, burstText, hasBurst := strings.Cut(rest, ",max_burst=")
	if hasBurst {
		burst, err := parseCount(burstText)
		if err != nil {
			return fail("invalid max_burst %q: %s", burstText, err)
		}
		if burst == 0 {
			return fail("max_burst must be greater than 0 (leave it out to allow a burst of the whole limit)")
		}
		spec.MaxBurst = burst
	}
	limitText, periodText, ok := strings.Cut(rest, "/")
	if !ok {
		return fail("expected LIMIT/PERIOD, such as 100/s or 1,000/h")
	}
	period, reason := parsePeriod(periodText)
	if reason != "" {
		return fail("%s", reason)
	}
	spec.Period = period
	limit, err := parseCount(limitText)
	if err != nil {
		return fail("invalid limit %q: %s", limitText, err)
	}
	if limit == 0 {
		return fail("limit must be greater than 0")
	}
	spec.Limit = limit
	return spec, nil
}

// parsePeriod reads "[N]UNIT". It returns a reason on failure.
func parsePeriod(text string) (time.Duration, string) {
	digits := 0
	for digits < len(text) && '0' <= text[digits] && text[digits] <= '9' {
		digits++
	}
	unitName := text[digits:]
	if unitName == "" {
		if text == "" {
			return 0, "missing period after '/' (use " + unitList + ")"
		}
		return 0, fmt.Sprintf("period %q has no unit (use %s)", text, unitList)
	}
	unit, ok := periodUnits[unitName]
	if !ok {
		hint := ""
		singular := strings.TrimSuffix(unitName, "s")
		if _, plural := periodUnits[singular]; plural && len(singular) > 1 {
			hint = "; plural units are not accepted"
		}
		return 0, fmt.Sprintf("unknown period unit %q (use %s)%s", unitName, unitList, hint)
	}
	scale := uint64(1)
	if digits > 0 {
		n, err := strconv.ParseUint(text[:digits], 10, 64)
		if err != nil || n > maxPeriodSeconds/unit {
			return 0, fmt.Sprintf("period %q is too long (at most %d seconds)", text, maxPeriodSeconds)
		}
		scale = n
	}
	if scale == 0 {
		return 0, fmt.Sprintf("period %q must be greater than 0", text)
	}
	return time.Duration(scale*unit) * time.Second, ""
}

// parseCount reads an unsigned integer the way KumoMTA does: drop every '_'
// and ',', then parse with Rust's u64 syntax (optional single '+', ASCII
// digits). Its error texts are Rust's.
func parseCount(text string) (uint64, error) {
	clean := strings.Map(func(r rune) rune {
		if r == '_' || r == ',' {
			return -1
		}
		return r
	}, text)
	if clean == "" {
		return 0, fmt.Errorf("cannot parse integer from empty string")
	}
	digits := clean
	if digits[0] == '+' && len(digits) > 1 {
		digits = digits[1:]
	}
	var n uint64
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid digit found in string")
		}
		d := uint64(c - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, fmt.Errorf("number too large to fit in target type")
		}
		n = n*10 + d
	}
	return n, nil
}

// String renders s in the form KumoMTA writes: "[local:]LIMIT/UNIT" with
// UNIT d, h, m or s for those exact periods and "<seconds>s" otherwise,
// then ",max_burst=N" when MaxBurst is set. Parse(s.String()) == s for
// every Spec with Limit > 0 and a positive whole-second Period; other Specs
// are written in a form Parse refuses.
func (s Spec) String() string {
	var b strings.Builder
	if s.Local {
		b.WriteString("local:")
	}
	b.WriteString(strconv.FormatUint(s.Limit, 10))
	b.WriteByte('/')
	switch {
	case s.Period == 24*time.Hour:
		b.WriteString("d")
	case s.Period == time.Hour:
		b.WriteString("h")
	case s.Period == time.Minute:
		b.WriteString("m")
	case s.Period == time.Second:
		b.WriteString("s")
	case s.Period > 0 && s.Period%time.Second == 0:
		b.WriteString(strconv.FormatInt(int64(s.Period/time.Second), 10))
		b.WriteString("s")
	default:
		// Not representable in the spec syntax; Go's form keeps it readable.
		b.WriteString(s.Period.String())
	}
	if s.MaxBurst != 0 {
		b.WriteString(",max_burst=")
		b.WriteString(strconv.FormatUint(s.MaxBurst, 10))
	}
	return b.String()
}

// Burst is the most cells that can pass at one instant: MaxBurst when it is
// set and below Limit, else Limit. Capping at Limit is what KumoMTA's
// in-process throttle does with a larger max_burst.
func (s Spec) Burst() uint64 {
	if s.MaxBurst != 0 && s.MaxBurst < s.Limit {
		return s.MaxBurst
	}
	return s.Limit
}

// Validate reports whether a Limiter can enforce s: Limit and Period must
// be positive. Every Spec from Parse is valid.
func (s Spec) Validate() error {
	if s.Limit == 0 {
		return fmt.Errorf("throttle spec %s: limit must be greater than 0", s)
	}
	if s.Period <= 0 {
		return fmt.Errorf("throttle spec %s: period must be greater than 0", s)
	}
	return nil
}

// MarshalText writes s.String(), so a Spec is a JSON string.
func (s Spec) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses b with Parse.
func (s *Spec) UnmarshalText(b []byte) error {
	spec, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = spec
	return nil
}
