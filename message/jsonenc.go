package message

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file holds the append-style JSON primitives used by the record
// encoder. They produce the same bytes as encoding/json with HTML escaping
// turned off: `"` and `\` are escaped, control characters use the short
// escapes \b \f \n \r \t where they exist and \u00XX otherwise, U+2028 and
// U+2029 are escaped, and invalid UTF-8 becomes U+FFFD.

const hexDigits = "0123456789abcdef"

// plainASCII[b] is true for ASCII bytes that are copied into a JSON string
// unchanged.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// appendString appends s as a quoted JSON string.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendStringBody(dst, s)
	return append(dst, '"')
}

// appendStringBody appends the escaped contents of s without the quotes.
func appendStringBody(dst []byte, s string) []byte {
	done := 0 // s[:done] has been written
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if plainASCII[b] {
				i++
				continue
			}
			dst = append(dst, s[done:i]...)
			dst = appendASCIIEscape(dst, b)
			i++
			done = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[done:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[done:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		done = i
	}
	return append(dst, s[done:]...)
}

func appendASCIIEscape(dst []byte, b byte) []byte {
	switch b {
	case '"', '\\':
		return append(dst, '\\', b)
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
}

// appendContent appends s as a JSON string after replacing every CRLF, lone
// CR and lone LF with one space, which is how KumoMTA serializes a
// response's content.
func appendContent(dst []byte, s string) []byte {
	if !containsLineBreak(s) {
		return appendString(dst, s)
	}
	return appendString(dst, flattenLineBreaks(s))
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
	return appendString(dst, *s)
}

// appendRaw appends a JSON value with insignificant whitespace removed.
// An empty value, or one that is not valid JSON, is written as null so that
// the output is always valid JSON; MarshalJSON reports such values instead.
func appendRaw(dst []byte, raw []byte) []byte {
	if len(raw) == 0 || !validJSON(raw) {
		return append(dst, "null"...)
	}
	if bytes.IndexAny(raw, " \t\r\n") < 0 {
		return append(dst, raw...) // already compact
	}
	return appendCompact(dst, raw)
}

// validJSON is json.Valid, by the record decoder's scanner (which accepts exactly what json.Valid
// does, several times faster).
func validJSON(b []byte) bool {
	end := skipValue(b, skipSpace(b, 0), 0)
	return end >= 0 && skipSpace(b, end) == len(b)
}

// appendCompact copies a valid JSON value, dropping whitespace that lies
// outside strings.
func appendCompact(dst []byte, raw []byte) []byte {
	inString, escaped := false, false
	done := 0
	for i, c := range raw {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case ' ', '\t', '\n', '\r':
			dst = append(dst, raw[done:i]...)
			done = i + 1
		}
	}
	return append(dst, raw[done:]...)
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
		dst = appendString(dst, k)
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
	dst = t.AppendFormat(dst, "2006-01-02T15:04:05")
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
	dst = append(dst, '.')
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
