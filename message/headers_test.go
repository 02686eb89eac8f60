package message

import (
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestParseHeaders(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Header
	}{
		{"reads CRLF headers up to the blank line",
			"Subject: hi\r\nFrom: a@b.c\r\n\r\nBody: not a header\r\n",
			[]Header{{"Subject", "hi"}, {"From", "a@b.c"}}},
		{"reads LF headers", "Subject: hi\nX-A: 1\n\nbody", []Header{{"Subject", "hi"}, {"X-A", "1"}}},
		{"unfolds continuation lines", "Subject: a long\r\n  subject\r\n\tline\r\nTo: x\r\n\r\n",
			[]Header{{"Subject", "a long  subject\tline"}, {"To", "x"}}},
		{"keeps encoded words raw", "Subject: =?UTF-8?q?caf=C3=A9?=\n\n", []Header{{"Subject", "=?UTF-8?q?caf=C3=A9?="}}},
		{"trims blanks around the value", "A:   x  \n\n", []Header{{"A", "x"}}},
		{"accepts an empty value", "A:\nB: \n\n", []Header{{"A", ""}, {"B", ""}}},
		{"drops blanks before the colon", "Subject : hi\n\n", []Header{{"Subject", "hi"}}},
		{"splits at the first colon", "X-Time: 12:30:00\n\n", []Header{{"X-Time", "12:30:00"}}},
		{"reads a block without a blank line to the end", "A: 1\r\nB: 2", []Header{{"A", "1"}, {"B", "2"}}},
		{"keeps repeated headers in order", "Received: 1\nreceived: 2\n\n", []Header{{"Received", "1"}, {"received", "2"}}},
		{"returns nothing for a body that starts with a blank line", "\r\nA: 1\r\n", nil},
		{"returns nothing for an empty body", "", nil},
		{"keeps 8-bit values", "Subject: Grüße\n\n", []Header{{"Subject", "Grüße"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHeaders([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseHeaders(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"a line without a colon", "A: 1\nnot a header\n\n", `header line 2: expected "Name: value", found no colon`},
		{"a continuation before any header", " folded\nA: 1\n\n", "header line 1: continuation line before any header"},
		{"an empty name", ": value\n\n", "header line 1: empty header name"},
		{"a space inside the name", "Bad Name: v\n\n", `header line 1: invalid character ' ' in header name`},
		{"a non-ASCII name", "Größe: 1\n\n", `header line 1: invalid character`},
	}
	for _, tc := range bad {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			got, err := ParseHeaders([]byte(tc.in))
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("ParseHeaders(%q) = %q, %v; want error %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestDecodeHeaderValue(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"decodes a Q-encoded word", "=?UTF-8?q?caf=C3=A9?=", "café"},
		{"decodes a B-encoded word", "=?utf-8?B?R3LDvMOfZQ==?=", "Grüße"},
		{"decodes ISO-8859-1", "=?ISO-8859-1?Q?Gr=FC=DFe?=", "Grüße"},
		{"joins adjacent encoded words", "=?UTF-8?q?a?= =?UTF-8?q?b?=", "ab"},
		{"keeps text around encoded words", "Re: =?UTF-8?q?caf=C3=A9?= now", "Re: café now"},
		{"keeps plain text", "hello world", "hello world"},
		{"falls back to the raw value for an unknown charset", "=?x-unknown?q?abc?=", "=?x-unknown?q?abc?="},
		{"keeps malformed words", "=?UTF-8?q?unterminated", "=?UTF-8?q?unterminated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecodeHeaderValue(tc.in); got != tc.want {
				t.Errorf("DecodeHeaderValue(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCaptureHeaders(t *testing.T) {
	hs := []Header{
		{"Subject", "=?UTF-8?q?caf=C3=A9?="},
		{"X-Test1", "one"},
		{"x-test1", "two"},
		{"X-Other", "<x> & y"},
		{"From", "a@b.c"},
		{"Received", "r1"},
		{"RECEIVED", "r2"},
		{"RECEIVED", "r3"},
	}
	tests := []struct {
		name  string
		names []string
		want  map[string]string
	}{
		{"captures an exact name without regard to case", []string{"subject"},
			map[string]string{"Subject": `"café"`}},
		{"spells the key like the first occurrence and lists repeats", []string{"X-TEST1"},
			map[string]string{"X-Test1": `["one","two"]`}},
		{"captures a prefix without regard to case", []string{"x-*"},
			map[string]string{"X-Test1": `["one","two"]`, "X-Other": `"<x> & y"`}},
		{"captures everything for *", []string{"*"}, map[string]string{
			"Subject": `"café"`, "X-Test1": `["one","two"]`, "X-Other": `"<x> & y"`, "From": `"a@b.c"`,
			"Received": `["r1","r2","r3"]`}},
		{"emits a header matched by two names once", []string{"X-*", "x-test1", "From"},
			map[string]string{"X-Test1": `["one","two"]`, "X-Other": `"<x> & y"`, "From": `"a@b.c"`}},
		{"ignores names that match nothing", []string{"Cc", "List-*"}, map[string]string{}},
		{"returns an empty map for no names", nil, map[string]string{}},
		{"does not treat an exact name as a prefix", []string{"X-Test"}, map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CaptureHeaders(hs, tc.names)
			if got == nil {
				t.Fatal("CaptureHeaders returned nil")
			}
			gotText := make(map[string]string)
			for k, v := range got {
				gotText[k] = string(v)
			}
			if !maps.Equal(gotText, tc.want) {
				t.Errorf("CaptureHeaders(%q) = %v, want %v", tc.names, gotText, tc.want)
			}
		})
	}
	t.Run("works on headers parsed from a message", func(t *testing.T) {
		body := "Subject: hello\r\nX-Campaign: spring\r\n sale\r\n\r\nbody"
		parsed, err := ParseHeaders([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		got := CaptureHeaders(parsed, []string{"X-*", "Subject"})
		if string(got["X-Campaign"]) != `"spring sale"` || string(got["Subject"]) != `"hello"` {
			t.Errorf("got %v", got)
		}
	})
}

func FuzzParseHeaders(f *testing.F) {
	for _, s := range []string{
		"Subject: hi\r\n\r\nbody", "A: 1\n b\n\tc\n\n", "no colon\n", " x\n", ": v\n", "A:\r\n", "",
		"A: =?UTF-8?q?caf=C3=A9?=\n", "A: 1\rB: 2\n", "\xff: x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		hs, err := ParseHeaders(body)
		if err != nil {
			return
		}
		// Writing the headers back out and parsing again gives the same list.
		var b strings.Builder
		for _, h := range hs {
			if strings.ContainsAny(h.Value, "\r\n") {
				return // a bare CR inside a line cannot be written back unambiguously
			}
			b.WriteString(h.Name + ": " + h.Value + "\r\n")
		}
		again, err := ParseHeaders([]byte(b.String()))
		if err != nil || !slices.Equal(again, hs) {
			t.Fatalf("re-parsing %q gave %q, %v; want %q", b.String(), again, err, hs)
		}
		for _, h := range hs {
			if h.Name == "" || strings.ContainsAny(h.Name, ": \t") {
				t.Fatalf("bad header name %q", h.Name)
			}
			_ = DecodeHeaderValue(h.Value)
		}
		_ = CaptureHeaders(hs, []string{"*"})
	})
}
