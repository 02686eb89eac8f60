package message

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseAddressAccepts(t *testing.T) {
	tests := []struct {
		name, in           string
		user, domain, mail string
		null               bool
	}{
		{"the empty string as the null address", "", "", "", "", true},
		{"<> as the null address", "<>", "", "", "", true},
		{"a plain address", "user@example.com", "user", "example.com", "user@example.com", false},
		{"an address in angle brackets", "<user@example.com>", "user", "example.com", "user@example.com", false},
		{"postmaster without a domain", "postmaster", "postmaster", "", "postmaster", false},
		{"Postmaster in any case", "<PostMaster>", "PostMaster", "", "PostMaster", false},
		{"postmaster with a domain as a normal address", "postmaster@example.com", "postmaster",
			"example.com", "postmaster@example.com", false},
		{"a dotted local part with atext symbols", "first.last+tag!#$%&'*/=?^_`{|}~-@x.org",
			"first.last+tag!#$%&'*/=?^_`{|}~-", "x.org", "first.last+tag!#$%&'*/=?^_`{|}~-@x.org", false},
		{"a quoted local part with a space and an @", `"john doe@home"@example.com`, `"john doe@home"`,
			"example.com", `"john doe@home"@example.com`, false},
		{"a quoted local part with an escaped quote", `"a\"b"@example.com`, `"a\"b"`, "example.com",
			`"a\"b"@example.com`, false},
		{"an IPv4 literal", "user@[192.0.2.1]", "user", "[192.0.2.1]", "user@[192.0.2.1]", false},
		{"an IPv6 literal", "user@[IPv6:2001:db8::1]", "user", "[IPv6:2001:db8::1]",
			"user@[IPv6:2001:db8::1]", false},
		{"a general address literal", "user@[x-tag:abc]", "user", "[x-tag:abc]", "user@[x-tag:abc]", false},
		{"mixed-case domains as given", "User@Example.COM", "User", "Example.COM", "User@Example.COM", false},
		{"UTF-8 local parts and domains", "jürgen@bücher.example", "jürgen", "bücher.example",
			"jürgen@bücher.example", false},
		{"a single-label domain", "log@hook", "log", "hook", "log@hook", false},
		{"underscores and hyphens in the domain", "a@my_host-1.example", "a", "my_host-1.example",
			"a@my_host-1.example", false},
	}
	for _, tc := range tests {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if err != nil {
				t.Fatalf("ParseAddress(%q): %v", tc.in, err)
			}
			if a.User() != tc.user || a.Domain() != tc.domain || a.Email() != tc.mail || a.IsNull() != tc.null {
				t.Errorf("got user %q domain %q email %q null %v", a.User(), a.Domain(), a.Email(), a.IsNull())
			}
			if a.String() != a.Email() {
				t.Errorf("String() = %q, Email() = %q", a.String(), a.Email())
			}
		})
	}
}

func TestParseAddressRejects(t *testing.T) {
	tests := []struct{ name, in, why string }{
		{"a missing domain", "user", "missing domain"},
		{"an empty domain", "user@", "missing domain"},
		{"a Unicode look-alike of postmaster", "poſtmaster", "missing domain"},
		{"a quoted local part alone", `"john doe"`, "missing domain"},
		{"an empty local part", "@example.com", "empty local part"},
		{"a second unquoted @", "a@b@example.com", "more than one '@'"},
		{"a space in the local part", "john doe@example.com", "space in local part"},
		{"a space in the domain", "user@exa mple.com", "space in domain"},
		{"a leading space", " user@example.com", "space"},
		{"a no-break space", "user@example.com\u00a0", "space in domain"},
		{"a control character", "us\x01er@example.com", "control character"},
		{"a newline in the domain", "user@example.com\n", "space in domain"},
		{"a DEL in a quoted local part", "\"a\x7f\"@example.com", "control character"},
		{"a port number", "user@example.com:2025", "port numbers are not allowed"},
		{"a port after a literal", "user@[192.0.2.1]:25", "port numbers are not allowed"},
		{"an empty label", "user@example..com", "empty label"},
		{"a trailing dot", "user@example.com.", "empty label"},
		{"a bad IPv4 literal", "user@[300.1.1.1]", "invalid IPv4"},
		{"a bad IPv6 literal", "user@[IPv6:1.2.3.4]", "invalid IPv6"},
		{"an unterminated literal", "user@[1.2.3.4", "unterminated"},
		{"an unterminated quoted local part", `"abc@example.com`, "unterminated"},
		{"text after a quoted local part", `"abc"x@example.com`, "must be followed by '@'"},
		{"a comma in the local part", "a,b@example.com", "not allowed in local part"},
		{"brackets inside brackets", "<<>>", "not allowed in local part"},
		{"a lone opening bracket", "<user@example.com", "not allowed in local part"},
		{"invalid UTF-8", "us\xffer@example.com", "UTF-8"},
		{"a slash in the domain", "user@exa/mple.com", "not allowed in domain"},
	}
	for _, tc := range tests {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			a, err := ParseAddress(tc.in)
			if err == nil {
				t.Fatalf("ParseAddress(%q) = %q, want an error", tc.in, a.Email())
			}
			if !strings.Contains(err.Error(), tc.why) {
				t.Errorf("error %q does not mention %q", err, tc.why)
			}
			if !strings.Contains(err.Error(), "invalid address") {
				t.Errorf("error %q does not start with the context", err)
			}
		})
	}
}

func TestAddressValueSemantics(t *testing.T) {
	t.Run("the zero value is the null address", func(t *testing.T) {
		var a Address
		if !a.IsNull() || a.Email() != "" {
			t.Errorf("zero Address: null %v email %q", a.IsNull(), a.Email())
		}
	})
	t.Run("postmaster is not the null address", func(t *testing.T) {
		a, _ := ParseAddress("postmaster")
		if a.IsNull() {
			t.Error("postmaster reported as null")
		}
	})
	t.Run("addresses with the same text compare equal", func(t *testing.T) {
		a, _ := ParseAddress("<a@b.c>")
		b, _ := ParseAddress("a@b.c")
		if a != b {
			t.Errorf("%v != %v", a, b)
		}
	})
	t.Run("round-trips through JSON text", func(t *testing.T) {
		in := struct{ A, B Address }{}
		in.A, _ = ParseAddress("a@b.c")
		b, err := json.Marshal(in)
		if err != nil || string(b) != `{"A":"a@b.c","B":""}` {
			t.Fatalf("json.Marshal = %s, %v", b, err)
		}
		var out struct{ A, B Address }
		if err := json.Unmarshal(b, &out); err != nil || out != in {
			t.Errorf("json.Unmarshal = %+v, %v", out, err)
		}
		if err := json.Unmarshal([]byte(`{"A":"no domain"}`), &out); err == nil {
			t.Error("json.Unmarshal accepted an invalid address")
		}
	})
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"", "<>", "postmaster", "<PostMaster>", "user@example.com", "<user@example.com>",
		`"john doe"@example.com`, `"a\"b"@x`, "user@[192.0.2.1]", "user@[IPv6:::1]", "user@[tag:x]",
		"a@b@c", "user@example.com:25", "<<>>", "jürgen@bücher.example", `"\`, `""@x`, "@", "a@.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		b, err := ParseAddress(a.Email())
		if err != nil {
			t.Fatalf("Email() %q of %q does not re-parse: %v", a.Email(), s, err)
		}
		if a != b {
			t.Fatalf("re-parsing %q gave %#v, want %#v", a.Email(), b, a)
		}
		if a.IsNull() != (a.Email() == "") {
			t.Fatalf("IsNull %v but Email %q", a.IsNull(), a.Email())
		}
	})
}
