package message

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file holds the append-style JSON primitives of the record encoder
// other than strings, which are AppendJSONString's (jsonstring.go).

// appendContent appends s as a JSON string after replacing every CRLF, lone
// CR and lone LF with one space, which is how KumoMTA serializes a
// response's content.
func appendContent(dst []byte, s string) []byte {
	if !containsLineBreak(s) {
		return AppendJSONString(dst, s)
	}
	return AppendJSONString(dst, flattenLineBreaks(s))
}

func containsLineBreak(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			return true
		}
	}
	return false
}

// flattenLineBreaks replaces each CRLF, CR or LF in s with a single space.
func flattenLineBreaks(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			out = append(out, ' ')
		case '\n':
			out = append(out, ' ')
		default:
			out = append(out, s[i])
		}
	}
	return string(out)
}

// appendOptString appends s as a JSON string, or null when s is nil.
func appendOptString(dst []byte, s *string) []byte {
	if s == nil {
		return append(dst, "null"...)
	}
	return AppendJSONString(dst, *s)
}

// appendRaw appends a JSON value as AppendCompactJSON does: whitespace
// outside strings removed, strings written by AppendJSONString. An empty
// value, or one that is not valid JSON, is written as null so that the
// output is always valid JSON; MarshalJSON reports such values instead.
func appendRaw(dst []byte, raw []byte) []byte {
	if len(raw) == 0 || !validJSON(raw) {
		return append(dst, "null"...)
	}
	if bytes.IndexAny(raw, " \t\r\n\\") < 0 && utf8.Valid(raw) {
		return append(dst, raw...) // already compact, every string by the rule
	}
	return appendCanonical(dst, raw)
}

// validJSON is json.Valid, by the record decoder's scanner (which accepts exactly what json.Valid
// does, several times faster).
func validJSON(b []byte) bool {
	end := skipValue(b, skipSpace(b, 0), 0)
	return end >= 0 && skipSpace(b, end) == len(b)
}

// appendRawMap appends m as a JSON object with its keys in sorted order; a
// nil map is written as {}.
func appendRawMap(dst []byte, m map[string]json.RawMessage) []byte {
	if len(m) == 0 {
		return append(dst, '{', '}')
	}
	var small [16]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendRaw(dst, m[k])
	}
	return append(dst, '}')
}

// appendTime appends t as a quoted RFC 3339 timestamp in UTC ending in "Z",
// with 0, 3, 6 or 9 fractional digits: the fewest of those that represent
// the value exactly (chrono's SecondsFormat::AutoSi).
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	dst = append(dst, '"')
	if year := t.Year(); year >= 0 && year <= 9999 {
		// time.AppendFormat walks its layout for each call: ~0.3 µs of the ~1.6 a record's JSON took.
		_, month, day := t.Date()
		hour, minute, sec := t.Clock()
		dst = appendDigits(dst, year, 4)
		dst = append(dst, '-')
		dst = appendDigits(dst, int(month), 2)
		dst = append(dst, '-')
		dst = appendDigits(dst, day, 2)
		dst = append(dst, 'T')
		dst = appendDigits(dst, hour, 2)
		dst = append(dst, ':')
		dst = appendDigits(dst, minute, 2)
		dst = append(dst, ':')
		dst = appendDigits(dst, sec, 2)
	} else {
		dst = t.AppendFormat(dst, "2006-01-02T15:04:05")
	}
	ns := t.Nanosecond()
	switch {
	case ns == 0:
	case ns%1_000_000 == 0:
		dst = appendFraction(dst, ns/1_000_000, 3)
	case ns%1_000 == 0:
		dst = appendFraction(dst, ns/1_000, 6)
	default:
		dst = appendFraction(dst, ns, 9)
	}
	return append(dst, 'Z', '"')
}

// appendFraction appends '.' and v zero-padded to width digits.
func appendFraction(dst []byte, v, width int) []byte {
	return appendDigits(append(dst, '.'), v, width)
}

// appendDigits appends v (at most 9 digits, not negative) zero-padded to width digits.
func appendDigits(dst []byte, v, width int) []byte {
	var digits [9]byte
	for i := width - 1; i >= 0; i-- {
		digits[i] = byte('0' + v%10)
		v /= 10
	}
	return append(dst, digits[:width]...)
}

func appendUint(dst []byte, v uint64) []byte {
	return strconv.AppendUint(dst, v, 10)
}

func appendInt(dst []byte, v int64) []byte {
	return strconv.AppendInt(dst, v, 10)
}
