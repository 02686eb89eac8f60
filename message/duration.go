package message

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Calendar units as humantime defines them.
const (
	secondsPerMonth = 2_630_016  // 30.44 days
	secondsPerYear  = 31_557_600 // 365.25 days
)

// durationUnits maps every accepted unit spelling to its length.
var durationUnits = func() map[string]time.Duration {
	units := make(map[string]time.Duration)
	for _, u := range []struct {
		length time.Duration
		names  string
	}{
		{time.Nanosecond, "ns nsec nanos"},
		{time.Microsecond, "us usec µs"},
		{time.Millisecond, "ms msec millis"},
		{time.Second, "s sec secs second seconds"},
		{time.Minute, "m min mins minute minutes"},
		{time.Hour, "h hr hrs hour hours"},
		{24 * time.Hour, "d day days"},
		{7 * 24 * time.Hour, "w week weeks"},
		{secondsPerMonth * time.Second, "M month months"},
		{secondsPerYear * time.Second, "y year years"},
	} {
		for name := range strings.FieldsSeq(u.names) {
			units[name] = u.length
		}
	}
	return units
}()

// ParseDuration parses a humantime duration: one or more <number><unit>
// terms, written together ("1h30m") or apart ("1h 30m"), with optional
// space between a number and its unit ("20 minutes"). Numbers are
// non-negative integers. Units:
//
//	ns nsec nanos                  us usec µs           ms msec millis
//	s sec secs second seconds      m min mins minute minutes
//	h hr hrs hour hours            d day days           w week weeks
//	M month months (30.44 days)    y year years (365.25 days)
//
// Units are case-sensitive ("M" is months, "m" minutes). A number without a
// unit ("10") is an error, as is a total beyond time.Duration's range
// (about 292 years).
func ParseDuration(s string) (time.Duration, error) {
	p := durationParser{src: s}
	d, err := p.parse()
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: %s", s, err)
	}
	return d, nil
}

type durationParser struct {
	src string
	pos int
}

func (p *durationParser) parse() (time.Duration, error) {
	p.skipSpace()
	if p.pos == len(p.src) {
		return 0, fmt.Errorf("value is empty")
	}
	var total time.Duration
	for p.pos < len(p.src) {
		n, err := p.number()
		if err != nil {
			return 0, err
		}
		p.skipSpace()
		unit, err := p.unit(n)
		if err != nil {
			return 0, err
		}
		p.skipSpace()
		if n > uint64(math.MaxInt64/unit) {
			return 0, fmt.Errorf("value is too large for a duration (max %s)", FormatDuration(math.MaxInt64))
		}
		term := time.Duration(n) * unit
		if total > math.MaxInt64-term {
			return 0, fmt.Errorf("value is too large for a duration (max %s)", FormatDuration(math.MaxInt64))
		}
		total += term
	}
	return total, nil
}

func (p *durationParser) skipSpace() {
	for p.pos < len(p.src) {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += size
	}
}

// number reads the digits at the current position.
func (p *durationParser) number() (uint64, error) {
	start := p.pos
	for p.pos < len(p.src) && '0' <= p.src[p.pos] && p.src[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return 0, fmt.Errorf("expected a number at offset %d", start)
	}
	n, err := strconv.ParseUint(p.src[start:p.pos], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("number %s is too large", p.src[start:p.pos])
	}
	return n, nil
}

// unit reads a unit name (ASCII letters or µ) and returns its length.
func (p *durationParser) unit(n uint64) (time.Duration, error) {
	start := p.pos
	for p.pos < len(p.src) {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == 'µ') {
			break
		}
		p.pos += size
	}
	name := p.src[start:p.pos]
	if name == "" {
		if p.pos == len(p.src) || p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			return 0, fmt.Errorf("time unit needed, for example %dsec or %dms", n, n)
		}
		return 0, fmt.Errorf("invalid character at offset %d", p.pos)
	}
	unit, ok := durationUnits[name]
	if !ok {
		return 0, fmt.Errorf("unknown time unit %q, supported units: "+
			"ns, us, ms, sec, min, hours, days, weeks, months, years (and a few variations)", name)
	}
	return unit, nil
}

// FormatDuration renders d the way Rust's humantime::format_duration does:
// space-separated terms from largest to smallest, skipping zero terms, with
// years (365.25 days), months (30.44 days) and days written as words with
// a plural "s" above one ("1year", "2months", "7days") and the smaller units
// as h m s ms us ns. Examples: "20m", "1day 1h 1m 1s", "1s 500ms". Zero is
// "0s". A negative d is written as "-" followed by its magnitude (humantime
// has no negative durations; ParseDuration does not accept the result).
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var mag uint64
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		mag = uint64(-(d + 1)) + 1 // avoids overflow for math.MinInt64
	} else {
		mag = uint64(d)
	}
	secs, nanos := mag/1e9, mag%1e9
	yearRest := secs % secondsPerYear
	monthRest := yearRest % secondsPerMonth
	daySecs := monthRest % 86400
	terms := [...]struct {
		n      uint64
		name   string
		plural bool
	}{
		{secs / secondsPerYear, "year", true},
		{yearRest / secondsPerMonth, "month", true},
		{monthRest / 86400, "day", true},
		{daySecs / 3600, "h", false},
		{daySecs % 3600 / 60, "m", false},
		{daySecs % 60, "s", false},
		{nanos / 1e6, "ms", false},
		{nanos / 1e3 % 1e3, "us", false},
		{nanos % 1e3, "ns", false},
	}
	started := false
	for _, t := range terms {
		if t.n == 0 {
			continue
		}
		if started {
			b.WriteByte(' ')
		}
		started = true
		b.WriteString(strconv.FormatUint(t.n, 10))
		b.WriteString(t.name)
		if t.plural && t.n > 1 {
			b.WriteByte('s')
		}
	}
	return b.String()
}
