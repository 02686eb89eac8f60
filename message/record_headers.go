package message

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// RecordHeaders turns a record's captured headers (a JSON string, or an
// array of strings, per name) back into a header list: the names in sorted
// order, each with its values in order. It decodes each value as
// json.Unmarshal does into a string, or failing that into a []string: null
// stands for one empty value, a null element for an empty one, and a value
// that is neither (a number, an object, an array holding anything but
// strings and nulls, invalid JSON) is skipped whole. CaptureRecordHeaders is
// the fast way to capture from the result.
func RecordHeaders(h map[string]json.RawMessage) []Header {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []Header
	for _, name := range names {
		var one string
		if json.Unmarshal(h[name], &one) == nil {
			out = append(out, Header{Name: name, Value: one})
			continue
		}
		var many []string
		if json.Unmarshal(h[name], &many) == nil {
			for _, v := range many {
				out = append(out, Header{Name: name, Value: v})
			}
		}
	}
	return out
}

// CaptureRecordHeaders returns what CaptureHeaders(RecordHeaders(h), names)
// returns, byte for byte, without decoding the values it does not capture
// and without encoding/json: names are matched first, and only the matching
// values are scanned (by the record decoder's scanner) and re-encoded. A
// value that re-encodes as it is (no escapes, no RFC 2047 encoded words,
// nothing AppendJSONString would escape) is copied.
func CaptureRecordHeaders(h map[string]json.RawMessage, names []string) map[string]json.RawMessage {
	if len(names) == 0 || len(h) == 0 {
		return make(map[string]json.RawMessage)
	}
	var patBuf [8]capturePattern
	pats := compilePatterns(patBuf[:0], names)
	var keyBuf [16]string
	keys := keyBuf[:0]
	size := 0
	for k, v := range h {
		if matchesAny(k, pats) {
			keys = append(keys, k)
			size += len(v) + 2
		}
	}
	if len(keys) == 0 {
		return make(map[string]json.RawMessage)
	}
	if len(keys) > 1 {
		// Names equal but for case become adjacent, each group in the order
		// of its names, which is the order of RecordHeaders.
		slices.SortFunc(keys, func(a, b string) int {
			if c := compareLower(a, b); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
	}
	type span struct {
		name       string
		start, end int
	}
	var spanBuf [16]span
	spans := spanBuf[:0]
	buf := make([]byte, 0, size)
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && compareLower(keys[i], keys[j]) == 0 {
			j++
		}
		// The group's values go after a '[' that is dropped again when
		// there turns out to be only one.
		start, n, name := len(buf), 0, ""
		buf = append(buf, '[')
		for _, k := range keys[i:j] {
			var added int
			buf, added = appendRecordHeaderValues(buf, h[k], n)
			if n == 0 && added > 0 {
				name = k // the group takes the name of its first header
			}
			n += added
		}
		switch n {
		case 0:
			buf = buf[:start]
		case 1:
			buf = buf[:start+copy(buf[start:], buf[start+1:])]
			spans = append(spans, span{name, start, len(buf)})
		default:
			buf = append(buf, ']')
			spans = append(spans, span{name, start, len(buf)})
		}
		i = j
	}
	out := make(map[string]json.RawMessage, len(spans))
	for _, s := range spans {
		out[s.name] = buf[s.start:s.end:s.end]
	}
	return out
}

// appendRecordHeaderValues appends the JSON strings CaptureHeaders makes of
// the values RecordHeaders finds in raw, each preceded by a comma when
// have (the values already appended for the group) is not zero, and
// returns how many it appended.
func appendRecordHeaderValues(dst, raw []byte, have int) ([]byte, int) {
	i := skipSpace(raw, 0)
	end := skipValue(raw, i, 0)
	if end < 0 || skipSpace(raw, end) != len(raw) {
		return dst, 0 // not JSON: json.Unmarshal fails
	}
	switch raw[i] {
	case '"':
		return appendCapturedValue(dst, raw[i+1:end-1], have), 1
	case 'n': // null: a string left empty
		return appendCapturedValue(dst, nil, have), 1
	case '[':
	default:
		return dst, 0
	}
	arr, mark, n := raw[i:end], len(dst), 0
	for j := skipSpace(arr, 1); arr[j] != ']'; n++ {
		var e int
		switch arr[j] {
		case '"':
			e = skipString(arr, j)
			dst = appendCapturedValue(dst, arr[j+1:e-1], have+n)
		case 'n':
			e = j + len("null")
			dst = appendCapturedValue(dst, nil, have+n)
		default: // not a string: the whole []string fails
			return dst[:mark], 0
		}
		if j = skipSpace(arr, e); arr[j] == ',' {
			j = skipSpace(arr, j+1)
		}
	}
	return dst, n
}

// appendCapturedValue appends the checked JSON string body as CaptureHeaders
// encodes its value, after a comma unless it is the group's first value.
func appendCapturedValue(dst, body []byte, have int) []byte {
	if have > 0 {
		dst = append(dst, ',')
	}
	if copyableValue(body) {
		dst = append(dst, '"')
		dst = append(dst, body...)
		return append(dst, '"')
	}
	return AppendJSONString(dst, DecodeHeaderValue(unquote(body)))
}

// copyableValue reports whether a checked JSON string body is its own
// encoding as a captured value: it has no escapes, is valid UTF-8 (which
// AppendJSONString writes as it is) and holds no "=?" that
// DecodeHeaderValue would look at.
func copyableValue(body []byte) bool {
	for i := 0; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\\':
			return false
		case c == '=' && i+1 < len(body) && body[i+1] == '?':
			return false
		case c >= utf8.RuneSelf:
			rest := body[i:]
			return utf8.Valid(rest) && bytes.IndexByte(rest, '\\') < 0 &&
				!bytes.Contains(rest, []byte("=?"))
		}
	}
	return true
}

// capturePattern is one of the names a logger captures, as CaptureHeaders
// reads it.
type capturePattern struct {
	prefix   string // without the '*'; lowercased (strings.ToLower) unless ASCII
	wildcard bool   // prefix is a prefix, else the whole name
}

func compilePatterns(dst []capturePattern, names []string) []capturePattern {
	for _, name := range names {
		prefix, wildcard := strings.CutSuffix(name, "*")
		if !isASCII(prefix) {
			prefix = strings.ToLower(prefix)
		}
		dst = append(dst, capturePattern{prefix, wildcard})
	}
	return dst
}

// matchesAny reports whether strings.ToLower(name) is matched by one of the
// patterns, without allocating for the names short enough to lowercase on
// the stack.
func matchesAny(name string, pats []capturePattern) bool {
	if isASCII(name) {
		return matchesAnyLower(name, pats)
	}
	var lb [64]byte
	return matchesAnyLower(appendLower(lb[:0], name), pats)
}

// matchesAnyLower is matchesAny for name either ASCII or lowercased: ASCII
// case folding then lowercases both sides.
func matchesAnyLower[S string | []byte](name S, pats []capturePattern) bool {
	for _, p := range pats {
		if len(name) < len(p.prefix) || !p.wildcard && len(name) != len(p.prefix) {
			continue
		}
		if foldCompare(name[:len(p.prefix)], p.prefix) == 0 {
			return true
		}
	}
	return false
}

// compareLower compares strings.ToLower(a) and strings.ToLower(b).
func compareLower(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return foldCompare(a, b)
	}
	var la, lb [64]byte
	return bytes.Compare(appendLower(la[:0], a), appendLower(lb[:0], b))
}

// foldCompare compares a and b byte by byte with ASCII letters lowercased.
func foldCompare[S, T string | []byte](a S, b T) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// appendLower appends strings.ToLower(s): each rune lowercased by
// unicode.ToLower, each byte of invalid UTF-8 replaced by U+FFFD.
func appendLower(dst []byte, s string) []byte {
	for _, r := range s {
		if r < utf8.RuneSelf {
			dst = append(dst, lowerASCII(byte(r)))
			continue
		}
		dst = utf8.AppendRune(dst, unicode.ToLower(r))
	}
	return dst
}
