package inject

import (
	"slices"
	"strings"
	"testing"
)

// BenchmarkFoldValue shows that folding is linear in the value's length,
// trailing whitespace included.
func BenchmarkFoldValue(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"1KiB", 1 << 10}, {"1MiB", 1 << 20}} {
		value := strings.Repeat("word ", tc.size/10) + strings.Repeat(" ", tc.size/2)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				foldValue("X-Long", value)
			}
		})
	}
}

// BenchmarkRender renders the message with attachments of the golden tests.
func BenchmarkRender(b *testing.B) {
	i := slices.IndexFunc(renderCases, func(tc renderCase) bool { return tc.golden == "attachments.eml" })
	req, err := Parse([]byte(renderCases[i].request))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := req.Render(req.Recipients[0], renderTime, "0a1b2c3d"); err != nil {
			b.Fatal(err)
		}
	}
}
