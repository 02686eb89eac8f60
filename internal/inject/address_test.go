package inject

import (
	"strings"
	"testing"
)

func TestCheckAddress(t *testing.T) {
	tests := []struct {
		address string
		problem string // "" when the address is accepted
	}{
		{"user@example.com", ""},
		{"first.last+tag@sub.example.co.uk", ""},
		{"a..b@docomo.ne.jp", ""},
		{"x@localhost", ""},
		{"üser@bücher.example", ""},
		{`"john doe"@example.com`, ""},
		{"user@[192.0.2.1]", ""},
		{"user@[IPv6:2001:db8::1]", ""},
		{"o'brien@example.com", ""},
		{"", `no "@"`},
		{"user.example.com", `no "@"`},
		{"@example.com", "empty local part"},
		{"user@", "empty domain"},
		{"a b@example.com", "character ' ' in the local part"},
		{"a<b@example.com", "character '<' in the local part"},
		{"a\r\n@example.com", `character '\r' in the local part`},
		{`"a"b"@example.com`, `character '"' in the quoted local part`},
		{"user@exa mple.com", "character ' ' in the domain"},
		{"user@example..com", "empty label in the domain"},
		{"user@example.com.", "empty label in the domain"},
		{"user@-example.com", `domain label "-example" starts or ends with a hyphen`},
		{"user@under_score.com", "character '_' in the domain"},
		{"user@[192.0.2.256]", "bad address literal [192.0.2.256]"},
		{"user@[2001:db8::1]", "bad address literal [2001:db8::1]"},
		{"user@[IPv6:192.0.2.1]", "bad address literal [IPv6:192.0.2.1]"},
		{strings.Repeat("a", 65) + "@example.com", "local part longer than 64 bytes"},
		{"a@" + strings.Repeat("b", 64) + ".com", "domain label longer than 63 bytes"},
		{"a@" + strings.Repeat("b.", 128) + "com", "domain longer than 255 bytes"},
		{"a@b\xff.com", "invalid UTF-8"},
	}
	for _, tt := range tests {
		verdict := "accepted"
		if tt.problem != "" {
			verdict = "rejected for " + tt.problem
		}
		t.Run(tt.address+" is "+verdict, func(t *testing.T) {
			err := checkAddress(tt.address)
			switch {
			case tt.problem == "" && err != nil:
				t.Errorf("checkAddress(%q) = %v; want nil", tt.address, err)
			case tt.problem != "" && err == nil:
				t.Errorf("checkAddress(%q) = nil; want %q", tt.address, tt.problem)
			case tt.problem != "" && !strings.HasSuffix(err.Error(), "local@domain: "+tt.problem):
				t.Errorf("checkAddress(%q) = %q; want it to end with %q", tt.address, err, tt.problem)
			}
		})
	}
}
