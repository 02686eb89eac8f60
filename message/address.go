package message

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Address is an envelope address: the null sender, the bare "postmaster"
// mailbox, or local@domain. The zero value is the null address. Addresses
// are comparable with ==; two addresses are equal when their text is.
type Address struct {
	user   string
	domain string
	hasAt  bool // distinguishes "postmaster" from the null address
}

// ParseAddress parses an envelope address.
//
//   - "" and "<>" are the null address.
//   - One pair of surrounding angle brackets is removed.
//   - "postmaster" (in any case) is valid without a domain.
//   - The local part is either a dot-string of RFC 5321 atext characters
//     (and UTF-8) or a quoted string, which may hold spaces and '@'.
//   - The domain is a dot-separated list of non-empty labels of letters,
//     digits, '-', '_' and UTF-8, or an address literal: [1.2.3.4],
//     [IPv6:2001:db8::1] or a general [tag:content] literal.
//
// It rejects spaces outside a quoted local part, control characters, a
// missing or empty domain, an empty local part, a second unquoted '@' and a
// port number after the domain.
func ParseAddress(s string) (Address, error) {
	text := s
	if strings.HasPrefix(text, "<") && strings.HasSuffix(text, ">") && len(text) >= 2 {
		text = text[1 : len(text)-1]
	}
	if text == "" {
		return Address{}, nil
	}
	if !utf8.ValidString(text) {
		return Address{}, addrErr(s, "not valid UTF-8")
	}
	if isPostmaster(text) {
		return Address{user: text}, nil
	}
	local, rest, err := splitLocal(text)
	if err != nil {
		return Address{}, addrErr(s, "%s", err)
	}
	if err := checkDomain(rest); err != nil {
		return Address{}, addrErr(s, "%s", err)
	}
	return Address{user: local, domain: rest, hasAt: true}, nil
}

func addrErr(s, format string, args ...any) error {
	return fmt.Errorf("invalid address %q: %s", s, fmt.Sprintf(format, args...))
}

// isPostmaster reports whether s is "postmaster" in any ASCII letter case.
// (strings.EqualFold would also accept Unicode look-alikes such as 'ſ'.)
func isPostmaster(s string) bool {
	const want = "postmaster"
	if len(s) != len(want) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c != want[i] {
			return false
		}
	}
	return true
}

// splitLocal validates the local part at the start of text and returns it
// together with the non-empty domain text after the separating '@'.
func splitLocal(text string) (local, rest string, err error) {
	end, err := localPartEnd(text)
	if err != nil {
		return "", "", err
	}
	if end == 0 {
		return "", "", fmt.Errorf("empty local part")
	}
	// localPartEnd stops only at '@' or at the end of text.
	if end >= len(text)-1 {
		return "", "", fmt.Errorf("missing domain")
	}
	return text[:end], text[end+1:], nil
}

// localPartEnd returns the index of the '@' that ends the local part.
func localPartEnd(text string) (int, error) {
	if strings.HasPrefix(text, `"`) {
		return quotedLocalEnd(text)
	}
	for i, r := range text {
		switch {
		case r == '@':
			return i, nil
		case isSpace(r):
			return 0, fmt.Errorf("space in local part")
		case isControl(r):
			return 0, fmt.Errorf("control character in local part")
		case r == '.' || r >= utf8.RuneSelf || isAtext(byte(r)):
		default:
			return 0, fmt.Errorf("character %q not allowed in local part", r)
		}
	}
	return len(text), nil
}

// quotedLocalEnd scans a quoted-string local part starting at text[0] == '"'.
func quotedLocalEnd(text string) (int, error) {
	for i := 1; i < len(text); i++ {
		c := text[i]
		switch {
		case c == '\\':
			if i+1 >= len(text) {
				return 0, fmt.Errorf("unterminated quoted local part")
			}
			i++
			if next := text[i]; next < 0x20 || next == 0x7f {
				return 0, fmt.Errorf("control character in local part")
			}
		case c == '"':
			if i+1 < len(text) && text[i+1] != '@' {
				return 0, fmt.Errorf("quoted local part must be followed by '@'")
			}
			return i + 1, nil
		case c < 0x20 || c == 0x7f:
			return 0, fmt.Errorf("control character in local part")
		}
	}
	return 0, fmt.Errorf("unterminated quoted local part")
}

func isSpace(r rune) bool { return r == ' ' || unicode.IsSpace(r) }

func isControl(r rune) bool { return unicode.IsControl(r) }

// isAtext reports whether c is an RFC 5322 atext character.
func isAtext(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func checkDomain(d string) error {
	if strings.HasPrefix(d, "[") {
		return checkAddressLiteral(d)
	}
	for i, r := range d {
		switch {
		case r == '@':
			return fmt.Errorf("more than one '@'")
		case isSpace(r):
			return fmt.Errorf("space in domain")
		case isControl(r):
			return fmt.Errorf("control character in domain")
		case r == ':' && i > 0:
			return fmt.Errorf("port numbers are not allowed in the domain (%s)", d)
		case r == '.', r == '-', r == '_', r >= utf8.RuneSelf,
			'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		default:
			return fmt.Errorf("character %q not allowed in domain", r)
		}
	}
	for label := range strings.SplitSeq(d, ".") {
		if label == "" {
			return fmt.Errorf("empty label in domain %q", d)
		}
	}
	return nil
}

// checkAddressLiteral validates "[...]" domains: IPv4, "IPv6:" plus an IPv6
// address, or a general "tag:content" literal.
func checkAddressLiteral(d string) error {
	if !strings.HasSuffix(d, "]") || len(d) < 3 {
		if strings.Contains(d, "]:") {
			return fmt.Errorf("port numbers are not allowed in the domain (%s)", d)
		}
		return fmt.Errorf("unterminated address literal %q", d)
	}
	inner := d[1 : len(d)-1]
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c >= 0x7f || c == '[' || c == ']' || c == '\\' || c == '@' {
			return fmt.Errorf("character %q not allowed in address literal", c)
		}
	}
	if tag, rest, ok := strings.Cut(inner, ":"); ok {
		if strings.EqualFold(tag, "IPv6") {
			if ip, err := netip.ParseAddr(rest); err != nil || !ip.Is6() || ip.Zone() != "" {
				return fmt.Errorf("invalid IPv6 address literal %q", d)
			}
			return nil
		}
		if tag == "" || rest == "" {
			return fmt.Errorf("invalid address literal %q", d)
		}
		return nil
	}
	if ip, err := netip.ParseAddr(inner); err != nil || !ip.Is4() {
		return fmt.Errorf("invalid IPv4 address literal %q", d)
	}
	return nil
}

// MarshalText implements encoding.TextMarshaler with Email().
func (a Address) MarshalText() ([]byte, error) { return []byte(a.Email()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseAddress.
func (a *Address) UnmarshalText(b []byte) error {
	parsed, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = parsed
	return nil
}

// User returns the local part as given, including any quotes: "" for the
// null address and "postmaster" (as spelled) for the bare postmaster.
func (a Address) User() string { return a.user }

// Domain returns the domain as given: "" for the null address and the bare
// postmaster.
func (a Address) Domain() string { return a.domain }

// Email returns the address text without angle brackets: "" for the null
// address, the bare postmaster as spelled, otherwise "user@domain".
func (a Address) Email() string {
	if !a.hasAt {
		return a.user
	}
	return a.user + "@" + a.domain
}

// String returns Email().
func (a Address) String() string { return a.Email() }

// IsNull reports whether a is the null address (<>).
func (a Address) IsNull() bool { return a == Address{} }
