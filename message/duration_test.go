package message

import (
	"math"
	"strings"
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestParseDurationAccepts(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"20m", 20 * time.Minute},
		{"1h 30m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"20 minutes", 20 * time.Minute},
		{"500ms", 500 * time.Millisecond},
		{"2days", 2 * day},
		{"7 days", 7 * day},
		{"1day", day},
		{"10s", 10 * time.Second},
		{"  5 sec  ", 5 * time.Second},
		{"0s", 0},
		{"1ns", 1},
		{"3nsec 2nanos", 5},
		{"4us 1usec 1µs", 6 * time.Microsecond},
		{"2msec 1millis", 3 * time.Millisecond},
		{"1s 1sec 1secs 1second 2seconds", 6 * time.Second},
		{"1m 1min 1mins 1minute 2minutes", 6 * time.Minute},
		{"1h 1hr 1hrs 1hour 2hours", 6 * time.Hour},
		{"1d 1day 2days", 4 * day},
		{"1w 1week 2weeks", 28 * day},
		{"1M", 2_630_016 * time.Second},
		{"1month 2months", 3 * 2_630_016 * time.Second},
		{"1y 1year 2years", 4 * 31_557_600 * time.Second},
		{"1y 1M 1m", (31_557_600 + 2_630_016 + 60) * time.Second},
		{"1day 1h 1m 1s", 90061 * time.Second},
		{"1s 500ms", 1500 * time.Millisecond},
		{"1h\t2m\n3s", time.Hour + 2*time.Minute + 3*time.Second},
		{"0001h", time.Hour},
		{"9223372036854775807ns", math.MaxInt64},
	}
	for _, tc := range tests {
		t.Run("parses "+tc.in, func(t *testing.T) {
			got, err := ParseDuration(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("ParseDuration(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseDurationRejects(t *testing.T) {
	tests := []struct{ name, in, why string }{
		{"a bare number", "10", "time unit needed, for example 10sec or 10ms"},
		{"a number after a term without a unit", "1h 10", "time unit needed"},
		{"two numbers in a row", "10 20s", "time unit needed"},
		{"the empty string", "", "value is empty"},
		{"only spaces", "   ", "value is empty"},
		{"an unknown unit", "5 fortnights", `unknown time unit "fortnights"`},
		{"an uppercase unit that is not M", "5H", `unknown time unit "H"`},
		{"a negative value", "-5s", "expected a number at offset 0"},
		{"a fraction", "1.5h", "invalid character at offset 1"},
		{"a unit without a number", "h", "expected a number at offset 0"},
		{"trailing punctuation", "5s,", "expected a number at offset 2"},
		{"a number too large for 64 bits", "99999999999999999999s", "number 99999999999999999999 is too large"},
		{"a term beyond time.Duration", "300years", "too large for a duration"},
		{"a sum beyond time.Duration", "9223372036854775807ns 1ns", "too large for a duration"},
	}
	for _, tc := range tests {
		t.Run("rejects "+tc.name, func(t *testing.T) {
			d, err := ParseDuration(tc.in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", tc.in, d)
			}
			if !strings.Contains(err.Error(), tc.why) || !strings.HasPrefix(err.Error(), "invalid duration") {
				t.Errorf("error %q does not mention %q", err, tc.why)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{0, "0s"},
		{20 * time.Minute, "20m"},
		{7 * day, "7days"},
		{day, "1day"},
		{90061 * time.Second, "1day 1h 1m 1s"},
		{1500 * time.Millisecond, "1s 500ms"},
		{time.Nanosecond, "1ns"},
		{1001001 * time.Nanosecond, "1ms 1us 1ns"},
		{2_630_016 * time.Second, "1month"},
		{2 * 2_630_016 * time.Second, "2months"},
		{31_557_600 * time.Second, "1year"},
		{2*31_557_600*time.Second + 2_630_016*time.Second + day, "2years 1month 1day"},
		{30 * day, "30days"},
		{31 * day, "1month 13h 26m 24s"},
		{time.Hour + time.Second, "1h 1s"},
		{math.MaxInt64, "292years 3months 7days 16h 6m 28s 854ms 775us 807ns"},
		{-90 * time.Second, "-1m 30s"},
		{math.MinInt64, "-292years 3months 7days 16h 6m 28s 854ms 775us 808ns"},
	}
	for _, tc := range tests {
		t.Run("formats "+tc.want, func(t *testing.T) {
			if got := FormatDuration(tc.in); got != tc.want {
				t.Errorf("FormatDuration(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDurationRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{
		0, 1, 999, time.Second, 20 * time.Minute, 7 * day, 90061*time.Second + 7, math.MaxInt64,
		31_557_600*time.Second - 1, 2_630_016*time.Second + 1,
	} {
		t.Run("parses back "+FormatDuration(d), func(t *testing.T) {
			got, err := ParseDuration(FormatDuration(d))
			if err != nil || got != d {
				t.Errorf("ParseDuration(FormatDuration(%d)) = %d, %v", d, got, err)
			}
		})
	}
}

// FuzzParseDuration checks that parsing never panics and that every
// non-negative duration survives FormatDuration and ParseDuration exactly.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"20m", "1h 30m", "20 minutes", "500ms", "2days", "1h30m", "10", "", "1y 1M 1w 1d",
		"9223372036854775807ns", "1µs", "5 H", "1.5s", "292years 3months 7days 16h 6m 28s 854ms 775us 807ns",
	} {
		f.Add(s, int64(0))
	}
	f.Add("", int64(math.MaxInt64))
	f.Add("", int64(31_557_600_000_000_000))
	f.Fuzz(func(t *testing.T, s string, n int64) {
		if d, err := ParseDuration(s); err == nil {
			if d < 0 {
				t.Fatalf("ParseDuration(%q) = %d, negative", s, d)
			}
			checkDurationRoundTrip(t, d)
		}
		if n < 0 {
			n = -(n + 1)
		}
		checkDurationRoundTrip(t, time.Duration(n))
	})
}

func checkDurationRoundTrip(t *testing.T, d time.Duration) {
	text := FormatDuration(d)
	back, err := ParseDuration(text)
	if err != nil || back != d {
		t.Fatalf("ParseDuration(FormatDuration(%d) = %q) = %d, %v", d, text, back, err)
	}
}
