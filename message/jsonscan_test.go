package message

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// The word-at-a-time loops must find the same byte as a byte-at-a-time
// loop, whatever the byte and wherever it sits.
func TestPlainRunFindsEveryStop(t *testing.T) {
	for c := range 256 {
		for pos := range 20 {
			buf := bytes.Repeat([]byte{'a'}, 20)
			buf[pos] = byte(c)
			want := 20
			if !stringPlain[c] {
				want = pos
			}
			for start := 0; start <= pos; start++ {
				if got := plainRun(buf, start); got != want {
					t.Fatalf("plainRun(%q, %d) = %d, want %d", buf, start, got, want)
				}
			}
			// A stop before another must win over it.
			buf[19] = '"'
			if got := plainRun(buf, 0); !stringPlain[c] && got != pos {
				t.Fatalf("plainRun(%q, 0) = %d, want %d", buf, got, pos)
			}
		}
	}
}

func TestPlainString(t *testing.T) {
	for c := range 256 {
		for pos := range 20 {
			body := bytes.Repeat([]byte{'a'}, 20)
			body[pos] = byte(c)
			want := c != '\\' && utf8.Valid(body)
			if got := plainString(body); got != want {
				t.Fatalf("plainString(%q) = %v, want %v", body, got, want)
			}
		}
	}
	for _, s := range []string{"", "é", "Grüße ✓ 𝄞 and some more text", "\xe2\x82", "long enough text then \xff"} {
		if got, want := plainString([]byte(s)), utf8.ValidString(s); got != want {
			t.Errorf("plainString(%q) = %v, want %v", s, got, want)
		}
	}
}

// skipValue must accept exactly what json.Valid accepts; the differential
// fuzz target checks this through the decoder, this checks it directly.
func TestSkipValueAgreesWithValid(t *testing.T) {
	for _, s := range []string{
		`0`, `-0`, `-0.5e-7`, `1E+2`, `01`, `1.`, `.1`, `-`, `+1`, `1e`, `tru`, `true`, `nul`, `null`,
		`""`, `"\u00zz"`, `"\uD800"`, `"\q"`, "\"\x1f\"", "\"\x7f\xff\"", `[]`, `[,]`, `[1,]`, `[1 2]`,
		`{}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{1:2}`, ` [ { "a" : [ ] } ] `, `[{]}`,
		`[[[[[[]]]]]]`, `[[[[[[]]]]]`, `{"a":{"b":{"c":[1,{"d":null}]}}}`,
	} {
		b := []byte(s)
		i := skipSpace(b, 0)
		end := skipValue(b, i, 0)
		got := end >= 0 && skipSpace(b, end) == len(b)
		if want := json.Valid(b); got != want {
			t.Errorf("skipValue accepts %q: %v, json.Valid: %v", s, got, want)
		}
	}
}
