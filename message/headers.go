package message

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
)

// Header is one message header. Value is the raw text after the colon,
// unfolded (line breaks of continuation lines removed) and without leading
// or trailing blanks; RFC 2047 encoded words are left as they are.
type Header struct{ Name, Value string }

// ParseHeaders reads the RFC 5322 header block at the start of body: every
// line up to the first empty line, or the whole body when there is none.
// Lines may end in CRLF or LF. A line starting with a space or tab continues
// the previous header. Any other line must be "Name: value", where Name is
// one or more printable ASCII characters other than ':' (blanks before the
// colon are tolerated and dropped). Anything else is an error naming the
// line.
func ParseHeaders(body []byte) ([]Header, error) {
	var headers []Header
	var value []byte // value of the last header, being unfolded
	flush := func() {
		if len(headers) > 0 {
			headers[len(headers)-1].Value = string(bytes.Trim(value, " \t"))
		}
	}
	for lineNo := 1; len(body) > 0; lineNo++ {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			line, body = body, nil
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header block
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(headers) == 0 {
				return nil, fmt.Errorf("header line %d: continuation line before any header", lineNo)
			}
			value = append(value, line...)
			continue
		}
		name, rest, err := splitHeaderLine(line)
		if err != nil {
			return nil, fmt.Errorf("header line %d: %s", lineNo, err)
		}
		flush()
		headers = append(headers, Header{Name: name})
		value = append(value[:0], rest...)
	}
	flush()
	return headers, nil
}

// splitHeaderLine splits "Name: value" at the first colon.
func splitHeaderLine(line []byte) (name string, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return "", nil, fmt.Errorf(`expected "Name: value", found no colon`)
	}
	nameBytes := bytes.TrimRight(line[:colon], " \t")
	if len(nameBytes) == 0 {
		return "", nil, fmt.Errorf("empty header name")
	}
	for _, c := range nameBytes {
		if c < 33 || c > 126 {
			return "", nil, fmt.Errorf("invalid character %q in header name", c)
		}
	}
	return string(nameBytes), line[colon+1:], nil
}

var wordDecoder = new(mime.WordDecoder)

// DecodeHeaderValue decodes the RFC 2047 encoded words in v (for example
// "=?UTF-8?q?caf=C3=A9?="). When decoding fails, for instance because of an
// unknown charset, v is returned unchanged.
func DecodeHeaderValue(v string) string {
	if !strings.Contains(v, "=?") {
		return v
	}
	decoded, err := wordDecoder.DecodeHeader(v)
	if err != nil {
		return v
	}
	return decoded
}

// headerGroup collects the values of one header name, compared without case.
type headerGroup struct {
	name   string // spelled as its first occurrence
	lower  string
	values []string
}

// CaptureHeaders selects the headers a logger records (SPEC §3, "Header
// capture rules"). Headers are grouped by name without regard to case; the
// output key is the name as spelled by its first occurrence in hs. The value
// is a JSON string, or a JSON array of strings when the header occurs more
// than once, each decoded with DecodeHeaderValue. A name ending in '*' is a
// case-insensitive prefix ("X-*", or "*" for everything); other names match
// case-insensitively and exactly. A header matched by an earlier name is not
// emitted again. The result is never nil. KumoMTA captures nothing ({})
// when the message's headers cannot be parsed; callers that get an error
// from ParseHeaders should do the same.
func CaptureHeaders(hs []Header, names []string) map[string]json.RawMessage {
	out := make(map[string]json.RawMessage)
	if len(names) == 0 || len(hs) == 0 {
		return out
	}
	groups := groupHeaders(hs)
	done := make(map[string]bool)
	for _, pattern := range names {
		prefix, wildcard := strings.CutSuffix(pattern, "*")
		prefix = strings.ToLower(prefix)
		for _, g := range groups {
			if done[g.lower] {
				continue
			}
			if wildcard && !strings.HasPrefix(g.lower, prefix) || !wildcard && g.lower != prefix {
				continue
			}
			done[g.lower] = true
			out[g.name] = g.appendJSON(nil)
		}
	}
	return out
}

// groupHeaders groups hs by lowercased name in order of first occurrence.
func groupHeaders(hs []Header) []*headerGroup {
	var groups []*headerGroup
	byName := make(map[string]*headerGroup)
	for _, h := range hs {
		lower := strings.ToLower(h.Name)
		g := byName[lower]
		if g == nil {
			g = &headerGroup{name: h.Name, lower: lower}
			byName[lower] = g
			groups = append(groups, g)
		}
		g.values = append(g.values, DecodeHeaderValue(h.Value))
	}
	return groups
}

func (g *headerGroup) appendJSON(dst []byte) []byte {
	if len(g.values) == 1 {
		return AppendJSONString(dst, g.values[0])
	}
	return appendStringArray(dst, g.values)
}
