package luaserde

import "testing"

func TestStripCommentsBlanksCommentsOutsideStrings(t *testing.T) {
	cases := []struct {
		name  string
		input string
		want  string
	}{
		{"text without comments is unchanged", `{"a": 1}`, `{"a": 1}`},
		{"a line comment runs to the end of the line", "{\"a\": 1} // note\n", "{\"a\": 1}        \n"},
		{"a hash comment runs to the end of the line", "# head\r\n[1]", "      \r\n[1]"},
		{"a block comment is blanked, keeping newlines", "[1, /* a\nb */ 2]", "[1,     \n     2]"},
		{"an unterminated block comment runs to the end", "[1] /* open", "[1]        "},
		{"comment markers inside strings are kept", `{"u": "http://x/#y/*z*/"}`, `{"u": "http://x/#y/*z*/"}`},
		{"escaped quotes do not end a string", `["a\"//b"] // c`, `["a\"//b"]     `},
		{"a lone slash is kept", `[1 / 2]`, `[1 / 2]`},
		{"an unterminated string protects the rest", `"abc // d`, `"abc // d`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			input := []byte(tc.input)
			got := StripComments(input)
			if string(got) != tc.want {
				t.Fatalf("StripComments(%q) = %q, want %q", tc.input, got, tc.want)
			}
			if string(input) != tc.input {
				t.Fatalf("StripComments modified its input to %q", input)
			}
		})
	}
}

func TestJSONParseAcceptsCommentedJSON(t *testing.T) {
	L := newState(t)
	v := eval(t, L, `return kumo.json_parse([[
# settings
{
  // the endpoint
  "url": "http://example.com/#frag", /* trailing */
  "n": 2
}
]]).url`)
	if v.String() != "http://example.com/#frag" {
		t.Fatalf("url = %q", v.String())
	}
}
