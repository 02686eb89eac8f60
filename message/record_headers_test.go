package message

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// raw builds a record's header map from name, value pairs.
func raw(pairs ...string) map[string]json.RawMessage {
	h := make(map[string]json.RawMessage)
	for i := 0; i+1 < len(pairs); i += 2 {
		h[pairs[i]] = json.RawMessage(pairs[i+1])
	}
	return h
}

func TestRecordHeaders(t *testing.T) {
	h := raw(
		"Subject", `"hi"`,
		"Received", ` [ "r1" , null, "r2" ] `,
		"X-Null", `null`,
		"X-Num", `1`,
		"X-Mixed", `["a", 1]`,
		"X-Obj", `{"a":"b"}`,
		"X-Bad", `"unterminated`,
		"X-Esc", `"caf\u00e9 \ud800 `+"\xff"+`"`,
		"X-Empty", `[]`,
	)
	want := []Header{
		{"Received", "r1"}, {"Received", ""}, {"Received", "r2"},
		{"Subject", "hi"},
		{"X-Esc", "café \ufffd \ufffd"},
		{"X-Null", ""},
	}
	if got := RecordHeaders(h); !slices.Equal(got, want) {
		t.Errorf("RecordHeaders = %q, want %q", got, want)
	}
}

func TestCaptureRecordHeaders(t *testing.T) {
	long := "X-" + strings.Repeat("\u212a", 80) // lowercases to "x-kkk…", longer than the stack buffer
	tests := []struct {
		name  string
		h     map[string]json.RawMessage
		names []string
		want  map[string]string
	}{
		{"captures exact names and prefixes without regard to case",
			raw("Subject", `"hello"`, "X-Bench-Seq", `"42"`, "From", `"a@b.c"`),
			[]string{"subject", "x-*"},
			map[string]string{"Subject": `"hello"`, "X-Bench-Seq": `"42"`}},
		{"takes null for an empty value", raw("X-A", `null`, "X-B", ` [null, "b"] `), []string{"X-*"},
			map[string]string{"X-A": `""`, "X-B": `["","b"]`}},
		{"skips what is not a string or a list of strings",
			raw("X-A", `["a",1]`, "X-B", `1`, "X-C", `{}`, "X-D", `true`, "X-E", `"x" y`, "X-F", ``, "X-G", `[]`),
			[]string{"*"}, map[string]string{}},
		{"writes a one-element list as a string", raw("X-A", `["a"]`), []string{"*"},
			map[string]string{"X-A": `"a"`}},
		{"re-encodes escapes, bad UTF-8 and encoded words",
			raw("A", `"\u00e9\/\ud800`+"\xff\u2028"+`"`, "B", `"=?UTF-8?q?caf=C3=A9?="`, "C", `"=\u003fUTF-8?q?=C3=A9?="`),
			[]string{"*"},
			map[string]string{"A": "\"é/\ufffd\ufffd\u2028\"", "B": `"café"`, "C": `"é"`}},
		{"groups names equal but for case in sorted order",
			raw("x-a", `"3"`, "X-a", `["1","2"]`, "X-A", `[]`, "X-b", `"4"`),
			[]string{"X-A", "x-b"},
			map[string]string{"X-a": `["1","2","3"]`, "X-b": `"4"`}},
		{"names a group after its first name with a value", raw("X-A", `1`, "x-a", `"v"`), []string{"x-A"},
			map[string]string{"x-a": `"v"`}},
		{"emits a header matched twice once", raw("X-A", `"v"`), []string{"X-*", "x-a", "*", "X-*"},
			map[string]string{"X-A": `"v"`}},
		{"does not treat an exact name as a prefix", raw("X-AB", `"v"`), []string{"X-A"}, map[string]string{}},
		{"lowercases beyond ASCII", raw("\u212a-1", `"v"`, long, `"w"`, "\xff", `"x"`),
			[]string{"k-*", strings.ToLower(long), "\ufffd"},
			map[string]string{"\u212a-1": `"v"`, long: `"w"`, "\xff": `"x"`}},
		{"matches an empty name exactly", raw("", `"v"`, "A", `"w"`), []string{""}, map[string]string{"": `"v"`}},
		{"returns an empty map for no names", raw("A", `"v"`), nil, map[string]string{}},
		{"returns an empty map for no headers", nil, []string{"*"}, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref := CaptureHeaders(RecordHeaders(tc.h), tc.names)
			got := CaptureRecordHeaders(tc.h, tc.names)
			if got == nil {
				t.Fatal("CaptureRecordHeaders returned nil")
			}
			for what, m := range map[string]map[string]json.RawMessage{"CaptureRecordHeaders": got, "the reference": ref} {
				text := make(map[string]string)
				for k, v := range m {
					text[k] = string(v)
				}
				if !maps.Equal(text, tc.want) {
					t.Errorf("%s: got %q, want %q", what, text, tc.want)
				}
			}
		})
	}
}

func TestCaptureRecordHeadersOwnsItsValues(t *testing.T) {
	h := raw("X-A", `"a"`, "X-B", `"b"`, "X-C", `["c","d"]`)
	got := CaptureRecordHeaders(h, []string{"X-*"})
	got["X-A"][1] = 'z'
	got["X-B"] = append(got["X-B"], "more"...)
	if string(h["X-A"]) != `"a"` || string(got["X-C"]) != `["c","d"]` {
		t.Errorf("writing to the result changed the input or another value: %q, %q", h["X-A"], got["X-C"])
	}
}

func TestCaptureRecordHeadersAllocations(t *testing.T) {
	h := raw("Subject", `"hello"`, "From", `"a@b.c"`, "To", `"d@e.f"`, "Message-ID", `"<1@b.c>"`, "\u212a", `"k"`)
	if n := testing.AllocsPerRun(100, func() { CaptureRecordHeaders(h, []string{"X-*", "Cc"}) }); n > 1 {
		t.Errorf("capturing nothing made %v allocations, want at most the map", n)
	}
	if n := testing.AllocsPerRun(100, func() { CaptureRecordHeaders(h, nil) }); n > 1 {
		t.Errorf("capturing with no names made %v allocations, want at most the map", n)
	}
}

// fuzzHeaders reads a header map from data: names and values alternate,
// separated by NUL bytes (which no valid JSON value contains); a name left
// without a value gets a nil one.
func fuzzHeaders(data []byte) map[string]json.RawMessage {
	h := make(map[string]json.RawMessage)
	parts := bytes.Split(data, []byte{0})
	for i := 0; i < len(parts); i += 2 {
		var v json.RawMessage
		if i+1 < len(parts) {
			v = parts[i+1]
		}
		h[string(parts[i])] = v
	}
	return h
}

// fuzzNames reads the names to capture, separated by NUL bytes; an empty
// string is no names at all.
func fuzzNames(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x00")
}

// fuzzSeed is the opposite of fuzzHeaders.
func fuzzSeed(pairs ...string) []byte {
	return []byte(strings.Join(pairs, "\x00"))
}

func FuzzCaptureRecordHeaders(f *testing.F) {
	deep := strings.Repeat("[", 70) + strings.Repeat("]", 70)
	seeds := []struct {
		headers []byte
		names   []string
	}{
		{fuzzSeed("Subject", `"Your weekly digest"`, "X-Bench-Seq", `"17"`), []string{"Subject", "X-*"}},
		{fuzzSeed("Subject", `"=?UTF-8?q?caf=C3=A9?="`, "From", `"a@b.c"`, "To", `"d@e.f"`,
			"Received", `["from a by b","from c by d"]`, "X-Mailer", `"m"`, "x-mailer", `"n"`), []string{"x-*", "received", "Subject"}},
		{fuzzSeed("X-A", `null`, "X-B", `[null,"b"]`, "X-C", `[ "a" , 1 ]`, "X-D", `1.5e3`, "X-E", `{"a":"b"}`,
			"X-F", `true`, "X-G", `false`, "X-H", `[]`, "X-I", ` "sp" `, "X-J", `"bad`, "X-K", ``, "X-L"), []string{"*"}},
		{fuzzSeed("X-A", `["a"]`, "X-B", `[[ "a" ]]`, "X-C", `[{"a":1}]`, "X-D", deep, "X-E", `[true]`), []string{"X-*"}},
		{fuzzSeed("A", `"\u00e9\/\b\f\n\r\t\"\\"`, "B", `"\ud800\udc00 \ud800 \udc00 \ud800\u0041"`, "C", "\"\xff\xe2\x80\xa8\xe2\x80\xa9\"",
			"D", `"\u2028\u2029 <>&"`, "E", `"=\u003fUTF-8?B?R3LDvMOfZQ==?="`, "F", `"=?x-unknown?q?abc?="`, "G", "\"\x7f\""), []string{"*"}},
		{fuzzSeed("x-a", `"3"`, "X-a", `["1","2"]`, "X-A", `[]`, "X-b", `"4"`, "x-B", `5`), []string{"X-A", "x-b", "X-A"}},
		{fuzzSeed("\u212a-1", `"kelvin"`, "K-2", `"k"`, "\xff", `"bad"`, "\u0130", `"dotted"`, "i", `"i"`, "ſ", `"long s"`),
			[]string{"k*", "\u212a-2", "\ufffd", "\u0130", "S"}},
		{fuzzSeed("", `"empty name"`, "*", `"star"`, "A*", `"a star"`), []string{"", "**", "a*"}},
		{fuzzSeed("X-"+strings.Repeat("\u212a", 80), `"long"`, "X-"+strings.Repeat("K", 80), `["a","b"]`),
			[]string{strings.ToLower("X-" + strings.Repeat("\u212a", 80)), "x-k*"}},
		{fuzzSeed("Subject", `"hi"`), nil},
	}
	for _, s := range seeds {
		f.Add(s.headers, strings.Join(s.names, "\x00"))
	}
	f.Fuzz(func(t *testing.T, headers []byte, names string) {
		h := fuzzHeaders(headers)
		// Arbitrary names seldom match arbitrary headers, nor differ only in
		// case: also capture with names made from the headers' own, and from
		// headers with twins.
		twins := withCaseTwins(h)
		for _, c := range []struct {
			h  map[string]json.RawMessage
			ns []string
		}{{h, fuzzNames(names)}, {h, derivedNames(h)}, {twins, fuzzNames(names)}, {twins, derivedNames(h)}} {
			want := CaptureHeaders(RecordHeaders(c.h), c.ns)
			got := CaptureRecordHeaders(c.h, c.ns)
			if got == nil || !maps.EqualFunc(got, want, func(a, b json.RawMessage) bool { return bytes.Equal(a, b) }) {
				t.Fatalf("CaptureRecordHeaders(%q, %q)\n = %s\nwant %s", c.h, c.ns, fmtCaptured(got), fmtCaptured(want))
			}
		}
	})
}

// withCaseTwins returns a copy of h with, for each name, the name with its
// ASCII letters swapped and the name in upper case added, each holding
// another name's value.
func withCaseTwins(h map[string]json.RawMessage) map[string]json.RawMessage {
	keys := slices.Sorted(maps.Keys(h))
	twins := maps.Clone(h)
	for i, k := range keys {
		for j, twin := range []string{swapCase(k), strings.ToUpper(k)} {
			if _, ok := twins[twin]; !ok {
				twins[twin] = h[keys[(i+1+j)%len(keys)]]
			}
		}
	}
	return twins
}

func swapCase(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

// derivedNames returns, for each name in h, the name with the case of its
// ASCII letters swapped and the first half of it as a prefix.
func derivedNames(h map[string]json.RawMessage) []string {
	var names []string
	for k := range h {
		names = append(names, swapCase(k), k[:len(k)/2]+"*")
	}
	return names
}

func fmtCaptured(m map[string]json.RawMessage) string {
	if m == nil {
		return "nil"
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(strconv.Quote(k) + ": " + strconv.Quote(string(m[k])) + "\n")
	}
	return b.String()
}

// benchHeaders are the headers of a typical record: those hookd bench sends and a few more.
var benchHeaders = raw(
	"Subject", `"Your receipt #1234"`, "X-Bench-Seq", `"123456"`,
	"From", `"Acme <news@acme.example>"`, "To", `"user42@example.com"`, "Message-ID", `"<abc.123@acme.example>"`,
	"Date", `"Fri, 08 Nov 2024 15:30:12 +0000"`, "X-Campaign", `"spring-promo"`, "Received", `["from a by b","from c by d"]`,
)

func BenchmarkCaptureRecordHeaders(b *testing.B) {
	names := []string{"Subject", "X-*"}
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			CaptureRecordHeaders(benchHeaders, names)
		}
	})
	b.Run("reference", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			CaptureHeaders(RecordHeaders(benchHeaders), names)
		}
	})
}
