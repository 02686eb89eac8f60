package luaserde

import "bytes"

// StripComments blanks out `/* ... */`, `// ...` and `# ...` comments that
// appear outside JSON strings, as kumo.json_parse does before parsing.
// Comment bytes become spaces and newlines are kept, so the result has the
// same length and line structure as the input and parse errors point at
// the right line. An unterminated block comment runs to the end of the
// input. The input is never modified: when it contains no comment
// characters it is returned as is, otherwise a copy is returned.
func StripComments(b []byte) []byte {
	if bytes.IndexByte(b, '/') < 0 && bytes.IndexByte(b, '#') < 0 {
		return b
	}
	out := bytes.Clone(b)
	for i := 0; i < len(out); {
		switch c := out[i]; {
		case c == '"':
			i = skipString(out, i)
		case c == '#':
			i = blankLine(out, i)
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			i = blankLine(out, i)
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			i = blankBlock(out, i)
		default:
			i++
		}
	}
	return out
}

// skipString returns the index just past the string that opens at i (or
// len(b) when it is unterminated), honouring backslash escapes.
func skipString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// blankLine blanks from i up to (not including) the next newline.
func blankLine(b []byte, i int) int {
	for ; i < len(b) && b[i] != '\n'; i++ {
		if b[i] != '\r' {
			b[i] = ' '
		}
	}
	return i
}

// blankBlock blanks a block comment opening at i, keeping line breaks.
func blankBlock(b []byte, i int) int {
	b[i], b[i+1] = ' ', ' '
	for i += 2; i < len(b); i++ {
		if b[i] == '*' && i+1 < len(b) && b[i+1] == '/' {
			b[i], b[i+1] = ' ', ' '
			return i + 2
		}
		if b[i] != '\n' && b[i] != '\r' {
			b[i] = ' '
		}
	}
	return len(b)
}
