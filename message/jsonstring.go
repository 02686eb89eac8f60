package message

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf8"
)

// This file holds the one rule for strings in every JSON text hookd writes (records, local log
// lines, webhook bodies, kumo.serde.json_encode, tojson, HTTP responses). It is the rule of
// KumoMTA's kumo.serde.json_encode, that is of serde_json's compact writer:
//
//   - `"` and `\` are escaped as \" and \\;
//   - the control characters U+0000 to U+001F are escaped as \b \f \n \r \t where those exist
//     and as \u00XX (lowercase hex) otherwise;
//   - every other character, '/', DEL, U+2028, U+2029, '<', '>', '&', '\'' and all non-ASCII text
//     included, is written as itself in UTF-8.
//
// Rust strings are always valid UTF-8; Go strings need not be. hookd refuses records and
// injections that hold invalid UTF-8 (strict.go), so the encoders should never meet it; when a Go
// string holding it reaches AppendJSONString anyway, each byte that does not start a valid UTF-8
// sequence (as utf8.DecodeRuneInString reads it) is written as U+FFFD, raw. That is the only
// repair hookd makes to text it writes. (A Lua string that is not UTF-8 is a different case:
// kumo.serde.json_encode writes it as an array of its byte values, as KumoMTA does.)

const hexDigits = "0123456789abcdef"

// plainASCII[b] is true for ASCII bytes that are copied into a JSON string unchanged.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for b := 0x20; b < utf8.RuneSelf; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// replacement is U+FFFD in UTF-8, written for each byte of invalid UTF-8.
const replacement = "\uFFFD"

// AppendJSONString appends s to dst as a quoted JSON string by the rule above and returns the
// extended slice.
func AppendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
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
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[done:i]...)
			dst = append(dst, replacement...)
			done = i + 1
		}
		i += size
	}
	dst = append(dst, s[done:]...)
	return append(dst, '"')
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

// errNotJSON is AppendCompactJSON's answer to bytes that are not one JSON value.
var errNotJSON = errors.New("not a valid JSON value")

// AppendCompactJSON appends the JSON value raw to dst as hookd writes JSON: without whitespace
// outside strings, and with every string (member names included) written by AppendJSONString,
// so that escapes the rule does not use (\/, \u003c, \u2028, a surrogate pair, uppercase hex, ...)
// become the characters they stand for. Numbers, literals and the order of members are kept.
// When raw is not one valid JSON value (with optional surrounding whitespace), it returns dst
// unchanged and an error.
func AppendCompactJSON(dst, raw []byte) ([]byte, error) {
	if !validJSON(raw) {
		return dst, errNotJSON
	}
	return appendCanonical(dst, raw), nil
}

// MarshalJSON returns the JSON encoding of v by encoding/json (struct tags, MarshalJSON methods
// and all), without the HTML escaping of '<', '>' and '&' and with every string rewritten by
// AppendJSONString, so that U+2028 and U+2029 (which encoding/json always escapes) and the
// characters of json.RawMessage values come out raw too: the bytes hookd's own encoders would
// write. Unlike json.Marshal no HTML escaping is applied; unlike json.Encoder.Encode there is no
// trailing newline. Invalid UTF-8, which encoding/json writes as the escape \ufffd, comes out as
// a raw U+FFFD, as from AppendJSONString.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if bytes.IndexByte(out, '\\') < 0 && utf8.Valid(out) {
		return out, nil // no escape and no bad byte (a raw value may hold some): already by the rule
	}
	return appendCanonical(make([]byte, 0, len(out)), out), nil
}

// appendCanonical appends the valid JSON value raw without whitespace outside strings and with
// every string that is not already written by the rule re-encoded by AppendJSONString. Strings
// are found by skipString, which steps over each escape whole, so an escaped backslash followed
// by "u2028" is never read as an escape of U+2028.
func appendCanonical(dst, raw []byte) []byte {
	done := 0 // raw[:done] has been written
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			end := skipString(raw, i)
			if body := raw[i+1 : end-1]; !canonicalBody(body) {
				dst = append(dst, raw[done:i]...)
				var buf [128]byte
				dst = AppendJSONString(dst, string(appendUnquoted(buf[:0], body)))
				done = end
			}
			i = end
		case isJSONSpace(c):
			dst = append(dst, raw[done:i]...)
			i++
			done = i
		default:
			i++
		}
	}
	return append(dst, raw[done:]...)
}

// canonicalBody reports whether a checked JSON string body (the bytes between the quotes) is
// what AppendJSONString writes for its text: valid UTF-8 whose only escapes are \" \\ \b \f \n
// \r \t and \u00XX, lowercase, for the other control characters.
func canonicalBody(body []byte) bool {
	if plainString(body) {
		return true // no escapes, valid UTF-8
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			i += size - 1
			continue
		}
		if c != '\\' {
			continue
		}
		switch body[i+1] {
		case '"', '\\', 'b', 'f', 'n', 'r', 't':
			i++
		case 'u':
			h := body[i+2 : i+6]
			if h[0] != '0' || h[1] != '0' || (h[2] != '0' && h[2] != '1') || !lowerHex(h[3]) {
				return false
			}
			switch hex4(h) {
			case '\b', '\f', '\n', '\r', '\t':
				return false // has a short escape
			}
			i += 5
		default: // '/'
			return false
		}
	}
	return true
}

func lowerHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
