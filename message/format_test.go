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

// The digits written by hand match time's own layout for every year it writes with four digits,
// and years outside that range still come out as time writes them.
func TestFormatTimeMatchesLayout(t *testing.T) {
	rng := uint64(1)
	next := func() uint64 { rng = rng*6364136223846793005 + 1442695040888963407; return rng >> 11 }
	for _, year := range []int{-1, 0, 1, 9, 99, 999, 1970, 2026, 9999, 10000, 123456} {
		for range 50 {
			in := time.Date(year, time.Month(1+next()%12), int(1+next()%28), int(next()%24), int(next()%60),
				int(next()%60), 0, time.UTC)
			want := in.Format("2006-01-02T15:04:05") + "Z"
			if got := FormatTime(in); got != want {
				t.Fatalf("FormatTime(%v) = %q, want %q", in, got, want)
			}
		}
	}
}
