package message

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JSON scanner behind the record decoder. It accepts
// exactly what json.Valid accepts (the same grammar, the same four
// whitespace bytes, the same nesting limit) and unquotes strings exactly as
// encoding/json does, so the decoder built on it gives the same results as
// decoding with encoding/json. It never allocates for valid input nested
// less than 64 deep.

// maxJSONDepth is encoding/json's limit on open arrays and objects.
const maxJSONDepth = 10000

// stringPlain[c] is true for bytes that stand for themselves inside a JSON
// string: everything but the quote, the backslash and control characters.
var stringPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func isJSONSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t'
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isJSONSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index just after the JSON string whose opening
// quote is b[i], or -1 when the string is malformed or unterminated.
func skipString(b []byte, i int) int {
	for i = plainRun(b, i+1); i < len(b); i = plainRun(b, i) {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || hex4(b[i+2:i+6]) < 0 {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

// Masks for testing the eight bytes of a little-endian uint64 at once.
const (
	lsbs = 0x0101010101010101
	msbs = 0x8080808080808080
)

// zeroBytes sets the top bit of the lowest zero byte of w, and maybe of
// higher ones too; it is zero when no byte is.
func zeroBytes(w uint64) uint64 { return (w - lsbs) &^ w & msbs }

// plainRun returns the index of the first byte at or after i that is not
// plain string text (see stringPlain), or len(b).
func plainRun(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		// w-0x20 borrows in a byte below 0x20 and in no other.
		stop := zeroBytes(w^(lsbs*'"')) | zeroBytes(w^(lsbs*'\\')) | (w-lsbs*0x20)&^w&msbs
		if stop != 0 {
			return i + bits.TrailingZeros64(stop)/8
		}
	}
	for i < len(b) && stringPlain[b[i]] {
		i++
	}
	return i
}

// hex4 returns the value of the four hex digits h[:4], or -1.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// skipNumber returns the index just after the JSON number that starts at
// b[i], or -1.
func skipNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := skipDigits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := skipDigits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

// skipLiteral returns the index just after lit when b[i:] starts with it,
// or -1.
func skipLiteral(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// skipKey reads an object key and its colon from b[i] on and returns the
// index of the member's value, or -1.
func skipKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = skipString(b, i); i < 0 {
		return -1
	}
	if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// skipValue returns the index just after the JSON value that starts at
// b[i], or -1 when there is no valid value there. depth is the number of
// arrays and objects already open around the value.
func skipValue(b []byte, i, depth int) int {
	var open [64]byte // the containers opened here, '{' or '['
	stack := open[:0]
	for {
		if i >= len(b) {
			return -1
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth+len(stack) >= maxJSONDepth {
				return -1
			}
			if i = skipSpace(b, i+1); i < len(b) && b[i] == c+2 { // '}' or ']'
				i++
				break
			}
			stack = append(stack, c)
			if c == '{' {
				if i = skipKey(b, i); i < 0 {
					return -1
				}
			}
			continue
		case '"':
			i = skipString(b, i)
		case 't':
			i = skipLiteral(b, i, "true")
		case 'f':
			i = skipLiteral(b, i, "false")
		case 'n':
			i = skipLiteral(b, i, "null")
		default:
			i = skipNumber(b, i)
		}
		if i < 0 {
			return -1
		}
		// A value ended at i: close what it completes, then find the start
		// of the next one.
		for {
			if len(stack) == 0 {
				return i
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1
			}
			top := stack[len(stack)-1]
			if b[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return -1
			}
			i = skipSpace(b, i+1)
			if top == '{' {
				if i = skipKey(b, i); i < 0 {
					return -1
				}
			}
			break
		}
	}
}

// memberIter walks the members of a JSON object, checking the syntax of
// each as it goes.
type memberIter struct {
	b     []byte
	i     int  // where the next member or the closing brace is looked for
	depth int  // arrays and objects open around the values, the object included
	n     int  // members read so far
	bad   bool // the object is malformed
}

// members starts walking the object whose opening brace is obj[0]. It is
// meant for objects already checked, so it does not count their depth.
func members(obj []byte) memberIter {
	return memberIter{b: obj, i: 1, depth: 1}
}

// next returns the next member's key, still escaped and without its
// quotes, and its value. It returns ok == false at the closing brace, after
// which it.i is the index just past the brace, or when the object is
// malformed, which sets it.bad.
func (it *memberIter) next() (key, val []byte, ok bool) {
	b := it.b
	i := skipSpace(b, it.i)
	if i < len(b) && b[i] == '}' {
		it.i = i + 1
		return nil, nil, false
	}
	if it.n > 0 {
		if i >= len(b) || b[i] != ',' {
			return it.fail()
		}
		i = skipSpace(b, i+1)
	}
	if i >= len(b) || b[i] != '"' {
		return it.fail()
	}
	end := skipString(b, i)
	if end < 0 {
		return it.fail()
	}
	key = b[i+1 : end-1]
	if i = skipSpace(b, end); i >= len(b) || b[i] != ':' {
		return it.fail()
	}
	i = skipSpace(b, i+1)
	end = skipValue(b, i, it.depth)
	if end < 0 {
		return it.fail()
	}
	it.i = end
	it.n++
	return key, b[i:end], true
}

func (it *memberIter) fail() (key, val []byte, ok bool) {
	it.bad = true
	return nil, nil, false
}

// elements calls yield with each element of the checked JSON array arr,
// stopping early when yield returns false.
func elements(arr []byte, yield func(i int, elem []byte) bool) {
	i := skipSpace(arr, 1)
	for n := 0; i < len(arr) && arr[i] != ']'; n++ {
		end := skipValue(arr, i, 1)
		if end < 0 || !yield(n, arr[i:end]) {
			return
		}
		if i = skipSpace(arr, end); i < len(arr) && arr[i] == ',' {
			i = skipSpace(arr, i+1)
		}
	}
}

// unquote returns the text of a JSON string given its checked body (the
// bytes between the quotes) as encoding/json decodes it: escapes resolved,
// each byte of invalid UTF-8 and each unpaired surrogate replaced by U+FFFD.
func unquote(body []byte) string {
	if plainString(body) {
		return string(body)
	}
	var buf [128]byte
	return string(appendUnquoted(buf[:0], body))
}

// plainString reports whether the checked string body needs no unquoting:
// it has no escapes and is valid UTF-8.
func plainString(body []byte) bool {
	i := 0
	for ; i+8 <= len(body); i += 8 {
		w := binary.LittleEndian.Uint64(body[i:])
		if (w|zeroBytes(w^(lsbs*'\\')))&msbs != 0 {
			break
		}
	}
	for ; i < len(body); i++ {
		if c := body[i]; c == '\\' || c >= utf8.RuneSelf {
			return bytes.IndexByte(body[i:], '\\') < 0 && utf8.Valid(body[i:])
		}
	}
	return true
}

// appendUnquoted appends the text of a checked string body to dst, as
// unquote decodes it.
func appendUnquoted(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(body[i:])
			dst = utf8.AppendRune(dst, r) // RuneError for a bad byte
			i += size
			continue
		}
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch e := body[i+1]; e {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(body[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				next := rune(-1)
				if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					next = hex4(body[i+2:])
				}
				if pair := utf16.DecodeRune(r, next); pair != unicode.ReplacementChar {
					r = pair
					i += 6
				} else {
					r = unicode.ReplacementChar
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\' or '/'
			dst = append(dst, e)
		}
		i += 2
	}
	return dst
}
