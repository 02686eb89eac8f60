package inject

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Length limits of RFC 5321 section 4.5.3.1.
const (
	maxLocalPart = 64
	maxDomain    = 255
	maxLabel     = 63
)

// checkAddress reports why s does not look like local@domain.
//
// The check is deliberately lenient about the local part (dots anywhere,
// UTF-8, a quoted string) since receivers decide what they accept; it
// rejects what cannot be an address or would break a header: a missing
// part, whitespace and control characters, and domains that are not
// dot-separated labels or an address literal.
func checkAddress(s string) error {
	err := addressProblem(s)
	if err != nil {
		return fmt.Errorf("%q is not an address of the form local@domain: %w", s, err)
	}
	return nil
}

// addressProblem does the work of checkAddress.
func addressProblem(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("invalid UTF-8")
	}
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return errors.New(`no "@"`)
	}
	local, domain := s[:at], s[at+1:]
	switch {
	case local == "":
		return errors.New("empty local part")
	case domain == "":
		return errors.New("empty domain")
	case len(local) > maxLocalPart:
		return fmt.Errorf("local part longer than %d bytes", maxLocalPart)
	case len(domain) > maxDomain:
		return fmt.Errorf("domain longer than %d bytes", maxDomain)
	}
	if err := checkLocalPart(local); err != nil {
		return err
	}
	return checkDomain(domain)
}

// checkLocalPart accepts a dot-atom (UTF-8 allowed, dots anywhere) or a
// quoted string without quotes, backslashes or control characters inside.
func checkLocalPart(local string) error {
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		for _, r := range local[1 : len(local)-1] {
			if r < ' ' || r == 0x7f || r == '"' || r == '\\' {
				return fmt.Errorf("character %q in the quoted local part", r)
			}
		}
		return nil
	}
	for _, r := range local {
		if r >= 0x80 {
			continue // UTF-8 local parts (RFC 6531)
		}
		if !isAtext(r) && r != '.' {
			return fmt.Errorf("character %q in the local part", r)
		}
	}
	return nil
}

// checkDomain accepts dot-separated labels of letters, digits, hyphens and
// UTF-8, or an address literal such as [192.0.2.1] or [IPv6:2001:db8::1].
func checkDomain(domain string) error {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		inner := domain[1 : len(domain)-1]
		ip, err := netip.ParseAddr(strings.TrimPrefix(inner, "IPv6:"))
		if err != nil || ip.Is6() != strings.HasPrefix(inner, "IPv6:") || ip.Zone() != "" {
			return fmt.Errorf("bad address literal %s", domain)
		}
		return nil
	}
	for label := range strings.SplitSeq(domain, ".") {
		if label == "" {
			return errors.New("empty label in the domain")
		}
		if len(label) > maxLabel {
			return fmt.Errorf("domain label longer than %d bytes", maxLabel)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("domain label %q starts or ends with a hyphen", label)
		}
		for _, r := range label {
			isASCII := r < 0x80
			if isASCII && !isLetterOrDigit(r) && r != '-' {
				return fmt.Errorf("character %q in the domain", r)
			}
		}
	}
	return nil
}

// isAtext reports whether r is an RFC 5322 atext character (ASCII).
func isAtext(r rune) bool {
	return isLetterOrDigit(r) || r < 0x80 && strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

// isLetterOrDigit reports whether r is an ASCII letter or digit.
func isLetterOrDigit(r rune) bool {
	return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
}

// domainOf returns what follows the last "@" of an address.
func domainOf(address string) string {
	return address[strings.LastIndexByte(address, '@')+1:]
}
