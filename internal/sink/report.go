package sink

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"
)

// Report writes a human-readable summary of the Stats to w: the request and
// record counters, the receiving rate, and the records by type and the
// requests by Content-Type, largest first. `hookd sink` prints it on SIGINT.
func (s *Sink) Report(w io.Writer) {
	writeReport(w, s.Stats())
}

// writeReport formats st as a table: labels on the left, values aligned on
// the right; a row without a value is a section heading.
func writeReport(w io.Writer, st Stats) {
	var rows [][2]string
	row := func(label string, value any) { rows = append(rows, [2]string{label, fmt.Sprint(value)}) }
	row("requests", "")
	row("  received", st.Requests)
	row("  failed (simulated)", st.FailedRequests)
	row("  bad (400/413)", st.BadRequests)
	row("records", "")
	row("  accepted", st.Records)
	row("  unique", st.Unique)
	row("  duplicates", st.Duplicates)
	row("  bytes", st.Bytes)
	if span := st.Last.Sub(st.First); span > 0 {
		row("  span", span.Round(time.Millisecond))
		row("  records/s", fmt.Sprintf("%.1f", float64(st.Records)/span.Seconds()))
	}
	if len(st.ByType) > 0 {
		row("by type", "")
		for _, k := range byCount(st.ByType) {
			row("  "+orNone(k), st.ByType[k])
		}
	}
	if len(st.ContentTypes) > 0 {
		row("requests by content type", "")
		for _, k := range byCount(st.ContentTypes) {
			row("  "+orNone(k), st.ContentTypes[k])
		}
	}
	labelWidth, valueWidth := 0, 0
	for _, r := range rows {
		if r[1] == "" {
			continue // headings do not set the width
		}
		labelWidth = max(labelWidth, len(r[0]))
		valueWidth = max(valueWidth, len(r[1]))
	}
	for _, r := range rows {
		if r[1] == "" {
			fmt.Fprintln(w, r[0])
			continue
		}
		fmt.Fprintf(w, "%-*s  %*s\n", labelWidth, r[0], valueWidth, r[1])
	}
}

// byCount returns the keys of m, largest count first, then by name.
func byCount(m map[string]uint64) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}

// orNone shows an empty label as "(none)".
func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
