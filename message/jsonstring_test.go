package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// TestAppendJSONStringRule checks the string rule of serde_json's compact writer (what
// kumo.serde.json_encode emits): only '"', '\' and U+0000-U+001F are escaped.
func TestAppendJSONStringRule(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", `""`},
		{"escapes quotes and backslashes", `a"b\c`, `"a\"b\\c"`},
		{"short escapes for the controls that have one", "\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\\u00XX in lowercase for the other controls",
			"\x00\x01\x07\x0b\x0e\x1a\x1b\x1f", `"\u0000\u0001\u0007\u000b\u000e\u001a\u001b\u001f"`},
		{"space is the first plain character", " ", `" "`},
		{"keeps DEL raw", "\x7f", "\"\x7f\""},
		{"keeps the solidus raw", "a/b</c>", `"a/b</c>"`},
		{"no HTML escaping of < > & '", "<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`},
		{"keeps U+2028 and U+2029 raw", "a\u2028b\u2029c", "\"a\u2028b\u2029c\""},
		{"keeps U+0080-U+009F (C1 controls) raw", "\u0080\u009f", "\"\u0080\u009f\""},
		{"keeps UTF-8 raw", "Grüße ✓ €", `"Grüße ✓ €"`},
		{"keeps astral characters raw, not as surrogate pairs", "😀𝄞\U0010FFFF", "\"😀𝄞\U0010FFFF\""},
		{"keeps U+FEFF and U+FFFD raw", "\ufeff\ufffd", "\"\ufeff\ufffd\""},
		{"a backslash then u2028 is an escaped backslash", `\u2028`, `"\\u2028"`},
		{"mixed", "é\t\"<\u2028>\"\x00😀", "\"é\\t\\\"<\u2028>\\\"\\u0000😀\""},
		// The documented fallback for Go strings (intake never lets these into a record).
		{"an invalid byte becomes a raw U+FFFD", "a\xffb", "\"a\ufffdb\""},
		{"each byte of a truncated sequence becomes U+FFFD", "a\xe2\x82", "\"a\ufffd\ufffd\""},
		{"an encoded surrogate is invalid UTF-8", "\xed\xa0\x80", "\"\ufffd\ufffd\ufffd\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(AppendJSONString(nil, tc.in)); got != tc.want {
				t.Errorf("AppendJSONString(%q) = %s, want %s", tc.in, got, tc.want)
			}
			if got := string(AppendJSONString([]byte("x:"), tc.in)); got != "x:"+tc.want {
				t.Errorf("AppendJSONString does not append: %q", got)
			}
		})
	}
}

// referenceString is an independent, rune-by-rune statement of the rule, for the fuzz test.
func referenceString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s { // range yields U+FFFD for each invalid byte
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// serdeStrings turns encoding/json's output (SetEscapeHTML(false) or not, raw values included)
// into what serde_json writes, by a second method: every \uXXXX escape of a character from U+0020
// up (<, >, &, U+2028, U+2029, U+FFFD, a surrogate pair) and \/ become the character, control
// escapes take their short or lowercase form, and each invalid byte becomes U+FFFD. Backslashes
// are read in pairs, so an escaped backslash is never mistaken for the start of an escape.
func serdeStrings(b []byte) []byte {
	short := map[rune]string{'\b': `\b`, '\f': `\f`, '\n': `\n`, '\r': `\r`, '\t': `\t`}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if c := b[i]; c >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(b[i:])
			out = utf8.AppendRune(out, r) // U+FFFD for an invalid byte
			i += size - 1
			continue
		} else if c != '\\' {
			out = append(out, c)
			continue
		}
		switch b[i+1] {
		case 'u':
		case '/':
			out = append(out, '/')
			i++
			continue
		default:
			out = append(out, b[i], b[i+1])
			i++
			continue
		}
		v, _ := strconv.ParseUint(string(b[i+2:i+6]), 16, 32)
		r := rune(v)
		i += 5
		switch {
		case short[r] != "":
			out = append(out, short[r]...)
		case r < 0x20:
			out = append(out, fmt.Sprintf(`\u%04x`, r)...)
		case utf16.IsSurrogate(r) && i+7 <= len(b) && b[i+1] == '\\' && b[i+2] == 'u':
			lo, _ := strconv.ParseUint(string(b[i+3:i+7]), 16, 32)
			if pair := utf16.DecodeRune(r, rune(lo)); pair != utf8.RuneError {
				out = utf8.AppendRune(out, pair)
				i += 6
				continue
			}
			out = utf8.AppendRune(out, utf8.RuneError)
		default:
			out = utf8.AppendRune(out, r) // a lone surrogate: U+FFFD, as encoding/json decodes it
		}
	}
	return out
}

func encodingJSONString(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FuzzAppendJSONString compares the primitive with two oracles: the rune-by-rune reference, and
// encoding/json's output with serdeStrings applied. For any input the output is valid JSON that
// decodes as encoding/json's own output does.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", `"\`, "\x00\x1f\x7f", "<>&'/", "\u2028\u2029", "😀", `\u2028`,
		"\xff", "\xe2\x82", "é\t\"<\u2028>\"\x00😀", "\ufffd"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendJSONString(nil, s)
		if !json.Valid(got) || !utf8.Valid(got) {
			t.Fatalf("AppendJSONString(%q) = %q: not valid JSON in UTF-8", s, got)
		}
		var back, want string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(encodingJSONString(t, s), &want); err != nil {
			t.Fatal(err)
		}
		if back != want {
			t.Fatalf("AppendJSONString(%q) decodes to %q, encoding/json's output to %q", s, back, want)
		}
		if ref := referenceString(s); string(got) != ref {
			t.Fatalf("AppendJSONString(%q) = %s, the reference writes %s", s, got, ref)
		}
		if !utf8.ValidString(s) {
			return
		}
		if oracle := serdeStrings(encodingJSONString(t, s)); !bytes.Equal(got, oracle) {
			t.Fatalf("AppendJSONString(%q) = %s, encoding/json rewritten gives %s", s, got, oracle)
		}
	})
}

func TestAppendCompactJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"drops whitespace outside strings", " { \"a\" : [ 1 , true , null ] }\n", `{"a":[1,true,null]}`},
		{"keeps whitespace inside strings", `{"a b":" c "}`, `{"a b":" c "}`},
		{"resolves escapes the rule does not use", `"\/\u0041\u003c\u003E\u0026\u0027"`, `"/A<>&'"`},
		{"writes U+2028 and U+2029 raw", `["\u2028","\u2029"]`, "[\"\u2028\",\"\u2029\"]"},
		{"joins surrogate pairs", `"\ud83d\ude00"`, `"😀"`},
		{"a lone surrogate becomes U+FFFD", `"\ud800x"`, "\"\ufffdx\""},
		{"uses the short escapes", `"\u000a\u0009\u0008\u000c\u000d"`, `"\n\t\b\f\r"`},
		{"lowercases the hex of control escapes", `"\u001F\u000B"`, `"\u001f\u000b"`},
		{"keeps escapes the rule uses, byte for byte", `{"k\"\\":"\n\u0000\u001f"}`, `{"k\"\\":"\n\u0000\u001f"}`},
		{"an escaped backslash before u2028 stays", `"\\u2028"`, `"\\u2028"`},
		{"re-encodes member names", `{"\u003c":1}`, `{"<":1}`},
		{"replaces invalid UTF-8", "\"a\xffb\"", "\"a\ufffdb\""},
		{"keeps numbers as written", `[1.0,1e2,-0,12345678901234567890]`, `[1.0,1e2,-0,12345678901234567890]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendCompactJSON([]byte("x:"), []byte(tc.in))
			if err != nil || string(got) != "x:"+tc.want {
				t.Errorf("AppendCompactJSON(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", " ", `{"a":}`, `"a`, `1 2`, "\"\x01\""} {
		if got, err := AppendCompactJSON([]byte("x"), []byte(bad)); err == nil || string(got) != "x" {
			t.Errorf("AppendCompactJSON(%q) = %q, %v; want an error and dst unchanged", bad, got, err)
		}
	}
}

func TestMarshalJSONFunction(t *testing.T) {
	type inner struct {
		Text string          `json:"text"`
		Raw  json.RawMessage `json:"raw,omitempty"`
	}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"no HTML escaping", map[string]string{"a": "<b>&'"}, `{"a":"<b>&'"}`},
		{"U+2028 and U+2029 raw", []string{"a\u2028b", "\u2029"}, "[\"a\u2028b\",\"\u2029\"]"},
		{"an escaped backslash then u2028 is left alone", "\\u2028 \\\u2028", "\"\\\\u2028 \\\\\u2028\""},
		{"controls as serde_json writes them", "\x00\x1f\n\x7f", "\"\\u0000\\u001f\\n\x7f\""},
		{"raw values by the rule too", inner{Text: "t", Raw: json.RawMessage(`{ "k" : "\u003c\u2028\/" }`)},
			"{\"text\":\"t\",\"raw\":{\"k\":\"<\u2028/\"}}"},
		{"invalid UTF-8 as a raw U+FFFD", "a\xffb", "\"a\ufffdb\""},
		{"in a raw value too", json.RawMessage("[\"a\xffb\"]"), "[\"a\ufffdb\"]"},
		{"no trailing newline", 1, `1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MarshalJSON(tc.v)
			if err != nil || string(got) != tc.want {
				t.Errorf("MarshalJSON = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
	if _, err := MarshalJSON(make(chan int)); err == nil {
		t.Error("MarshalJSON of a channel succeeded")
	}
}

// stringEscapes returns every escape sequence inside the strings of the valid JSON text b, read
// as a JSON parser reads them: a backslash and the character after it, with the four hex digits
// of a \u escape.
func stringEscapes(b []byte) []string {
	var out []string
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			continue
		}
		n := 2
		if b[i+1] == 'u' {
			n = 6
		}
		out = append(out, string(b[i:i+n]))
		i += n - 1
	}
	return out
}

// ruleEscape reports whether e is an escape the rule writes.
func ruleEscape(e string) bool {
	switch e {
	case `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`:
		return true
	}
	if len(e) != 6 || e[:4] != `\u00` || (e[4] != '0' && e[4] != '1') || !lowerHex(e[5]) {
		return false
	}
	switch e {
	case `\u0008`, `\u000c`, `\u000a`, `\u000d`, `\u0009`:
		return false
	}
	return true
}

// FuzzMarshalJSONRewrite checks MarshalJSON's rewrite of encoding/json's output on strings, map
// keys and raw values: the result is valid UTF-8 JSON, decodes to what encoding/json's output
// decodes to, and holds no escape but those of the rule (in particular no \u2028 or \u2029),
// however backslashes and "u2028" are mixed in the input.
func FuzzMarshalJSONRewrite(f *testing.F) {
	for _, seed := range [][2]string{
		{"a\u2028b", `"\u2029"`}, {`\u2028`, `"\\u2028"`}, {`\\\u2028`, `{"\u2028":"\\\u2029"}`},
		{"<>&\xff", `[1, "\ud83d\ude00", "\/"]`}, {"\x00\x1f\x7f", `"\u001F"`}, {"", `null`}, {"x", "\"\xff\""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, raw string) {
		v := map[string]any{"s": s, s: []string{s, s + "\u2028"}}
		if json.Valid([]byte(raw)) {
			v["raw"] = json.RawMessage(raw)
		}
		got, err := MarshalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(got) || !utf8.Valid(got) {
			t.Fatalf("MarshalJSON = %q: not valid JSON in UTF-8", got)
		}
		std, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got, &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(std, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("MarshalJSON %s decodes to %#v, json.Marshal %s to %#v", got, a, std, b)
		}
		for _, e := range stringEscapes(got) {
			if !ruleEscape(e) {
				t.Fatalf("MarshalJSON = %s holds the escape %s", got, e)
			}
		}
		if want := serdeStrings(std); !bytes.Equal(got, want) {
			t.Fatalf("MarshalJSON = %s, encoding/json rewritten gives %s", got, want)
		}
	})
}
