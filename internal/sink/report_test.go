package sink

import (
	"strings"
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	first := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		stats Stats
		want  string
	}{
		{
			name: "a busy sink shows its counters, rate and breakdowns",
			stats: Stats{
				Requests: 12, FailedRequests: 2, BadRequests: 1, Records: 1500, Unique: 1490, Duplicates: 10,
				ByType:       map[string]uint64{"Delivery": 700, "Reception": 700, "": 100},
				ContentTypes: map[string]uint64{"application/json": 9},
				Bytes:        123456, First: first, Last: first.Add(10 * time.Second),
			},
			want: `requests
  received                12
  failed (simulated)       2
  bad (400/413)            1
records
  accepted              1500
  unique                1490
  duplicates              10
  bytes               123456
  span                   10s
  records/s            150.0
by type
  Delivery               700
  Reception              700
  (none)                 100
requests by content type
  application/json         9
`,
		},
		{
			name:  "an idle sink shows zeros and no rate",
			stats: Stats{},
			want: `requests
  received            0
  failed (simulated)  0
  bad (400/413)       0
records
  accepted            0
  unique              0
  duplicates          0
  bytes               0
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			writeReport(&b, tt.stats)
			if b.String() != tt.want {
				t.Errorf("report:\n%s\nwant:\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestSinkReportUsesItsStats(t *testing.T) {
	s := New(Config{})
	accepted(t, post(t, s, "application/json", record("Bounce", "1", "t")))
	var b strings.Builder
	s.Report(&b)
	rows := map[string]string{}
	for line := range strings.Lines(b.String()) {
		if f := strings.Fields(line); len(f) >= 2 {
			rows[strings.Join(f[:len(f)-1], " ")] = f[len(f)-1]
		}
	}
	for label, want := range map[string]string{"received": "1", "Bounce": "1", "application/json": "1", "bytes": "43"} {
		if rows[label] != want {
			t.Errorf("report row %q = %q; want %q:\n%s", label, rows[label], want, b.String())
		}
	}
}
