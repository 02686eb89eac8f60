package message

import (
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	base := time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"writes whole seconds without a fraction", base, "2024-11-08T15:30:12Z"},
		{"writes milliseconds with 3 digits", base.Add(120 * time.Millisecond), "2024-11-08T15:30:12.120Z"},
		{"writes microseconds with 6 digits", base.Add(time.Microsecond), "2024-11-08T15:30:12.000001Z"},
		{"writes nanoseconds with 9 digits", base.Add(1), "2024-11-08T15:30:12.000000001Z"},
		{"converts to UTC", base.In(time.FixedZone("X", -5*3600)), "2024-11-08T15:30:12Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FormatTime(tc.in); got != tc.want {
				t.Errorf("FormatTime = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFoldLineBreaks(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"keeps text without line breaks", "a b", "a b"},
		{"folds CRLF, CR and LF into one space each", "a\r\nb\rc\nd", "a b c d"},
		{"folds LF CR into two spaces", "a\n\rb", "a  b"},
		{"keeps the empty string", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FoldLineBreaks(tc.in); got != tc.want {
				t.Errorf("FoldLineBreaks(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
