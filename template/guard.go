package template

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// lexerTrap finds text that sends gonja v2.9.1's lexer into an endless loop
// or a panic, so that Compile can refuse it first: inside a tag, a number
// followed by "." and a non-ASCII character that is not a digit, as in
// "{{ 0.� }}" (found by FuzzCompile). After the ".", the lexer peeks at the
// next character and then steps back by that character's width instead of
// the dot's. No working template has such text: in Jinja it would read an
// attribute of a number. It returns the 1-based line of the first trap.
func lexerTrap(src string) (int, bool) {
	for i := 0; i+1 < len(src); i++ {
		if src[i] != '{' || (src[i+1] != '{' && src[i+1] != '%') {
			continue
		}
		closer := "}}"
		if src[i+1] == '%' {
			closer = "%}"
		}
		end := tagEnd(src, i+2, closer)
		if at, ok := numberThenDot(src[i+2 : end]); ok {
			return 1 + countLines(src[:i+2+at]), true
		}
		i = end
	}
	return 0, false
}

// tagEnd returns the index of the closer that ends the tag starting at
// from, skipping quoted strings, or len(src) if the tag is not closed.
func tagEnd(src string, from int, closer string) int {
	for i := from; i < len(src); i++ {
		switch c := src[i]; {
		case c == '"' || c == '\'':
			i = stringEnd(src, i)
		case strings.HasPrefix(src[i:], closer):
			return i
		}
	}
	return len(src)
}

// stringEnd returns the index of the quote closing the string that opens
// at src[open], or len(src).
func stringEnd(src string, open int) int {
	for i := open + 1; i < len(src); i++ {
		switch src[i] {
		case '\\':
			i++
		case src[open]:
			return i
		}
	}
	return len(src)
}

// numberThenDot scans the inside of one tag for a number token directly
// followed by "." and a non-ASCII non-digit rune, and returns the offset of
// that dot.
func numberThenDot(tag string) (int, bool) {
	inWord := false // inside a name or number: a digit here does not start a number
	for i := 0; i < len(tag); {
		r, size := utf8.DecodeRuneInString(tag[i:])
		switch {
		case r == '"' || r == '\'':
			i = stringEnd(tag, i) + 1
			inWord = false
			continue
		case unicode.IsDigit(r) && !inWord:
			end := numberEnd(tag, i)
			if end+1 < len(tag) && tag[end] == '.' && tag[end+1] >= utf8.RuneSelf {
				if next, _ := utf8.DecodeRuneInString(tag[end+1:]); !unicode.IsDigit(next) {
					return end, true
				}
			}
			i, inWord = end, false
			continue
		}
		inWord = r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
		i += size
	}
	return 0, false
}

// numberEnd returns the end of the number starting at tag[i]: digits and
// underscores, an optional fraction and an optional exponent.
func numberEnd(tag string, i int) int {
	digits := func(i int) int {
		for i < len(tag) {
			r, size := utf8.DecodeRuneInString(tag[i:])
			if !unicode.IsDigit(r) && r != '_' {
				break
			}
			i += size
		}
		return i
	}
	i = digits(i)
	if i+1 < len(tag) && tag[i] == '.' {
		if r, _ := utf8.DecodeRuneInString(tag[i+1:]); unicode.IsDigit(r) {
			i = digits(i + 1)
		}
	}
	if i < len(tag) && (tag[i] == 'e' || tag[i] == 'E') {
		j := i + 1
		if j < len(tag) && (tag[j] == '+' || tag[j] == '-') {
			j++
		}
		if k := digits(j); k > j {
			i = k
		}
	}
	return i
}

// countLines counts line breaks in s as the lexer does: CRLF, CR and LF.
func countLines(s string) int {
	return strings.Count(s, "\n") + strings.Count(s, "\r") - strings.Count(s, "\r\n")
}
