package message

import (
	"strings"
	"time"
)

// FormatTime renders t as a record's event_time and created_time fields are written: RFC 3339 in
// UTC with "Z" and 0, 3, 6 or 9 fractional digits.
func FormatTime(t time.Time) string {
	b := appendTime(nil, t)
	return string(b[1 : len(b)-1]) // without the JSON quotes
}

// FoldLineBreaks replaces every CRLF, CR or LF in s by one space, as a record's response content is
// written.
func FoldLineBreaks(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return flattenLineBreaks(s)
}
