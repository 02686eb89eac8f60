package locallog

import (
	"errors"
	"strconv"
	"time"
)

// stampLen is the length of the "YYYYmmdd-HHMMSS" part of a segment name.
const stampLen = len("20060102-150405")

// errNotSegmentName is returned by ParseSegmentName for a name that does not start with a time.
var errNotSegmentName = errors.New("locallog: not a segment name (want YYYYmmdd-HHMMSS[.fraction][suffix])")

// FormatSegmentName returns the name of a segment opened at t (converted to UTC) with the given
// suffix: strftime "%Y%m%d-%H%M%S%.f" followed by suffix. The fraction is left out for a whole
// second and otherwise has 3, 6 or 9 digits, the fewest that hold t exactly:
// "20241108-153012", "20241108-153012.120", "20241108-153012.000120", "20241108-153012.000000120".
// For years 0 to 9999, names with no suffix sort in time order, and so do names whose suffix starts
// with a byte below '.' (such as '-'); with other suffixes a name with a fraction sorts before the
// whole second it follows ("20241108-153012.123_x" < "20241108-153012_x"), as in KumoMTA.
func FormatSegmentName(t time.Time, suffix string) string {
	t = t.UTC()
	b := make([]byte, 0, stampLen+10+len(suffix))
	b = t.AppendFormat(b, "20060102-150405")
	b = appendFraction(b, t.Nanosecond())
	return string(append(b, suffix...))
}

// appendFraction appends chrono's "%.f" for ns nanoseconds: nothing, or a dot and 3, 6 or 9 digits.
func appendFraction(b []byte, ns int) []byte {
	var value, digits int
	switch {
	case ns == 0:
		return b
	case ns%1_000_000 == 0:
		value, digits = ns/1_000_000, 3
	case ns%1_000 == 0:
		value, digits = ns/1_000, 6
	default:
		value, digits = ns, 9
	}
	b = append(b, '.')
	s := strconv.Itoa(value)
	for i := len(s); i < digits; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// ParseSegmentName is the inverse of FormatSegmentName: it returns the UTC time and the suffix of a
// segment name. The fraction is read greedily: the longest of 9, 6 or 3 digits after a dot that
// FormatSegmentName could have written (it never ends a 6- or 9-digit fraction in "000", nor writes
// ".000"); what follows is the suffix. So FormatSegmentName(ParseSegmentName(name)) == name for every
// name it accepts. A suffix that starts with a digit, or with a dot and a digit, can be read as part
// of the fraction: choose suffixes that start otherwise (KumoMTA's are free-form).
func ParseSegmentName(name string) (time.Time, string, error) {
	if len(name) < stampLen || name[8] != '-' {
		return time.Time{}, "", errNotSegmentName
	}
	var f [6]int // year, month, day, hour, minute, second
	widths := [6]int{4, 2, 2, 2, 2, 2}
	pos := 0
	for i, w := range widths {
		if pos == 8 {
			pos++ // the dash
		}
		n, ok := digitsValue(name[pos : pos+w])
		if !ok {
			return time.Time{}, "", errNotSegmentName
		}
		f[i], pos = n, pos+w
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
	if t.Year() != f[0] || int(t.Month()) != f[1] || t.Day() != f[2] ||
		t.Hour() != f[3] || t.Minute() != f[4] || t.Second() != f[5] {
		return time.Time{}, "", errors.New("locallog: segment name has an impossible date or time")
	}
	rest := name[stampLen:]
	ns, used := parseFraction(rest)
	return t.Add(time.Duration(ns)), rest[used:], nil
}

// parseFraction reads the fraction FormatSegmentName would have written at the start of s. It
// returns the nanoseconds and how many bytes of s they took (0 when s starts with no fraction).
func parseFraction(s string) (ns int, used int) {
	if len(s) < 4 || s[0] != '.' {
		return 0, 0
	}
	for _, digits := range []int{9, 6, 3} {
		if len(s) < 1+digits {
			continue
		}
		frac := s[1 : 1+digits]
		value, ok := digitsValue(frac)
		if !ok || frac[digits-3:] == "000" {
			continue
		}
		for i := digits; i < 9; i++ {
			value *= 10
		}
		return value, 1 + digits
	}
	return 0, 0
}

// digitsValue parses s as unsigned decimal digits only (no sign, no spaces).
func digitsValue(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
