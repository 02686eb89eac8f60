package locallog

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestFormatSegmentName(t *testing.T) {
	base := time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		t      time.Time
		suffix string
		want   string
	}{
		{base, "", "20241108-153012"},
		{base, "_deliv", "20241108-153012_deliv"},
		{base.Add(123 * time.Millisecond), "", "20241108-153012.123"},
		{base.Add(100 * time.Millisecond), "", "20241108-153012.100"},
		{base.Add(123456 * time.Microsecond), "", "20241108-153012.123456"},
		{base.Add(120 * time.Microsecond), "", "20241108-153012.000120"},
		{base.Add(123456789), "", "20241108-153012.123456789"},
		{base.Add(1), ".log", "20241108-153012.000000001.log"},
		{base.Add(999_999_999), "", "20241108-153012.999999999"},
		{base.In(paris), "", "20241108-153012"}, // converted to UTC
		{time.Date(2025, 1, 2, 3, 4, 5, 6000, paris), "", "20250102-020405.000006"},
		{time.Date(999, 1, 1, 0, 0, 0, 0, time.UTC), "", "09990101-000000"},
	}
	for _, tc := range tests {
		if got := FormatSegmentName(tc.t, tc.suffix); got != tc.want {
			t.Errorf("FormatSegmentName(%v, %q) = %q, want %q", tc.t, tc.suffix, got, tc.want)
		}
	}
}

func TestParseSegmentName(t *testing.T) {
	base := time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)
	tests := []struct {
		name   string
		t      time.Time
		suffix string
	}{
		{"20241108-153012", base, ""},
		{"20241108-153012_deliv.log", base, "_deliv.log"},
		{"20241108-153012.123", base.Add(123 * time.Millisecond), ""},
		{"20241108-153012.123456", base.Add(123456 * time.Microsecond), ""},
		{"20241108-153012.123456789x", base.Add(123456789), "x"},
		{"20241108-153012.000120", base.Add(120 * time.Microsecond), ""},
		// Fractions FormatSegmentName never writes are read as their canonical prefix.
		{"20241108-153012.123000", base.Add(123 * time.Millisecond), "000"},
		{"20241108-153012.1234", base.Add(123 * time.Millisecond), "4"},
		{"20241108-153012.000", base, ".000"},
		{"20241108-153012.12", base, ".12"},
		{"20241108-153012.log", base, ".log"},
		{"20240229-000000", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), ""},
	}
	for _, tc := range tests {
		got, suffix, err := ParseSegmentName(tc.name)
		if err != nil || !got.Equal(tc.t) || suffix != tc.suffix {
			t.Errorf("ParseSegmentName(%q) = %v, %q, %v; want %v, %q", tc.name, got, suffix, err, tc.t, tc.suffix)
		}
		if back := FormatSegmentName(got, suffix); back != tc.name {
			t.Errorf("FormatSegmentName(ParseSegmentName(%q)) = %q", tc.name, back)
		}
	}
	for _, bad := range []string{
		"", "2024", "20241108_153012", "2024110-8153012", "+0241108-153012", "2024-108-153012",
		"20241308-153012", "20230229-000000", "20241108-243000", "20241108-156000", "20241108-153060",
		"20241131-000000", " 0241108-153012",
	} {
		if got, suffix, err := ParseSegmentName(bad); err == nil {
			t.Errorf("ParseSegmentName(%q) = %v, %q; want an error", bad, got, suffix)
		}
	}
}

// Names sort in time order, whatever the number of fraction digits, when the suffix is empty or
// starts with a byte below '.'. Other suffixes ("_x" > ".123_x") break the order within a second.
func TestSegmentNamesSortByTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)
	times := make([]time.Time, 2000)
	for i := range times {
		d := time.Duration(rng.Int64N(int64(3 * time.Second)))
		switch rng.IntN(4) { // favour each fraction width
		case 0:
			d = d.Truncate(time.Second)
		case 1:
			d = d.Truncate(time.Millisecond)
		case 2:
			d = d.Truncate(time.Microsecond)
		}
		times[i] = base.Add(d)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for _, suffix := range []string{"", "-x"} {
		names := make([]string, len(times))
		for i, tm := range times {
			names[i] = FormatSegmentName(tm, suffix)
		}
		if !slices.IsSorted(names) {
			t.Errorf("suffix %q: names of sorted times are not sorted", suffix)
		}
	}
	if a, b := FormatSegmentName(base, "_x"), FormatSegmentName(base.Add(time.Millisecond), "_x"); a < b {
		t.Errorf("%q sorts before %q; the documentation says it does not", a, b)
	}
}

// Every name ParseSegmentName accepts formats back to itself.
func FuzzParseSegmentName(f *testing.F) {
	for _, s := range []string{
		"20241108-153012", "20241108-153012.123_x", "20241108-153012.123456", "20241108-153012.123456789.log",
		"20241108-153012.000000", "20241108-153012.1234567890", "99991231-235959.999999999", "00000101-000000",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tm, suffix, err := ParseSegmentName(name)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC {
			t.Fatalf("ParseSegmentName(%q) time in %v", name, tm.Location())
		}
		if back := FormatSegmentName(tm, suffix); back != name {
			t.Fatalf("FormatSegmentName(ParseSegmentName(%q)) = %q", name, back)
		}
	})
}

// Every time in years 0..9999 survives FormatSegmentName then ParseSegmentName, with a suffix that
// starts with neither a digit nor a dot and a digit.
func FuzzFormatSegmentName(f *testing.F) {
	f.Add(int64(1731079812), int64(123456000), "_deliv")
	f.Add(int64(0), int64(0), "")
	f.Add(int64(-62135596800), int64(1), ".log")
	f.Fuzz(func(t *testing.T, sec, nsec int64, suffix string) {
		tm := time.Unix(sec, nsec).UTC()
		if tm.Year() < 0 || tm.Year() > 9999 {
			return
		}
		if ambiguousSuffix(suffix) {
			suffix = "_" + suffix
		}
		name := FormatSegmentName(tm, suffix)
		got, gotSuffix, err := ParseSegmentName(name)
		if err != nil || !got.Equal(tm) || gotSuffix != suffix {
			t.Fatalf("ParseSegmentName(%q) = %v, %q, %v; want %v, %q", name, got, gotSuffix, err, tm, suffix)
		}
	})
}

// ambiguousSuffix reports whether suffix could be read as part of a segment name's fraction.
func ambiguousSuffix(suffix string) bool {
	isDigit := func(i int) bool { return len(suffix) > i && suffix[i] >= '0' && suffix[i] <= '9' }
	return isDigit(0) || (len(suffix) > 0 && suffix[0] == '.' && isDigit(1))
}
