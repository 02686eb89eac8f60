package locallog

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/clock"
)

// benchLines returns n JSON log lines of about 600 bytes, alike in shape and different in values,
// as Delivery records are.
func benchLines(n int) [][]byte {
	rng := rand.New(rand.NewPCG(7, 11))
	hex := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = "0123456789abcdef"[rng.IntN(16)]
		}
		return string(b)
	}
	lines := make([][]byte, n)
	for i := range lines {
		lines[i] = fmt.Appendf(nil, `{"type":"Delivery","id":"%s","sender":"bounce-%s@mail.example.com",`+
			`"recipient":"user%d@%s.example.net","queue":"%s.example.net","site":"mx%d.example.net",`+
			`"size":%d,"response":{"code":250,"enhanced_code":{"class":2,"subject":0,"detail":0},`+
			`"content":"OK id=%s","command":".\r\n"},"peer_address":{"name":"mx%d.example.net",`+
			`"addr":"192.0.2.%d"},"timestamp":%d,"created":%d,"num_attempts":%d,"bounce_classification":`+
			`"Uncategorized","egress_pool":"pool-%d","egress_source":"source-%d","feedback_report":null,`+
			`"meta":{"tenant":"tenant-%d","campaign":"campaign-%s"},"headers":{"Subject":"Your order %s"},`+
			`"delivery_protocol":"ESMTP","reception_protocol":"ESMTP","nodeid":"%s"}`,
			hex(32), hex(8), rng.IntN(100000), hex(6), hex(6), rng.IntN(8), rng.IntN(200000), hex(24),
			rng.IntN(8), rng.IntN(255), 1731079812+i, 1731079800+i, rng.IntN(5), rng.IntN(4), rng.IntN(16),
			rng.IntN(50), hex(8), hex(10), "3e1c3a5e-7a55-4b5e-9b1e-1f0c7a2d9c41")
	}
	return lines
}

// BenchmarkWrite measures Write throughput (MB/s of uncompressed lines) and reports the
// compression ratio reached.
func BenchmarkWrite(b *testing.B) {
	lines := benchLines(4096)
	total := 0
	for _, l := range lines {
		total += len(l) + 1
	}
	for _, level := range []int{1, 0, 6} {
		b.Run(fmt.Sprintf("level=%d", level), func(b *testing.B) {
			dir := b.TempDir()
			w, err := Open(Config{LogDir: dir, CompressionLevel: level, Clock: clock.NewFake(start)})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(total / len(lines)))
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				if err := w.Write("Delivery", lines[n%len(lines)]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)*float64(total)/float64(len(lines))/float64(dirSize(b, dir)), "ratio")
		})
	}
}

// dirSize returns the total size of the files in dir.
func dirSize(b *testing.B, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, e := range entries {
		info, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			b.Fatal(err)
		}
		size += info.Size()
	}
	return max(size, 1)
}
