package locallog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// A segment closes after the write that brings its line bytes to MaxFileSize; the header does not
// count.
func TestRotateBySize(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxFileSize = 100
	cfg.PerRecord = map[string]RecordParams{AnyRecord: {SegmentHeader: strings.Repeat("h", 50) + "\n"}}
	w := mustOpen(t, cfg)
	line := strings.Repeat("a", 29) // 30 bytes with the newline
	for range 3 {
		mustWrite(t, w, "Delivery", line)
	}
	first := filepath.Join(cfg.LogDir, "20241108-153012")
	if !writable(t, first) {
		t.Fatal("closed at 90 line bytes (+51 header bytes) of 100")
	}
	mustWrite(t, w, "Delivery", line) // 120 >= 100
	if writable(t, first) {
		t.Fatal("still open at 120 line bytes of 100")
	}
	clk.Advance(time.Millisecond)
	mustWrite(t, w, "Delivery", line)
	mustClose(t, w)
	header := strings.Repeat("h", 50) + "\n"
	checkDir(t, cfg.LogDir, map[string]string{
		"20241108-153012":     header + strings.Repeat(line+"\n", 4),
		"20241108-153012.001": header + line + "\n",
	})
}

// MaxFileSize counts uncompressed bytes: very compressible lines still rotate at the line count
// their uncompressed size gives, although the files are far smaller.
func TestMaxFileSizeCountsUncompressedBytes(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxFileSize = 30_000
	w := mustOpen(t, cfg)
	line := strings.Repeat("z", 9_999) // 10,000 bytes with the newline
	for range 9 {
		mustWrite(t, w, "Delivery", line)
		clk.Advance(time.Second)
	}
	mustClose(t, w)
	names := files(t, cfg.LogDir)
	if len(names) != 3 {
		t.Fatalf("files = %q, want 3 segments of 3 lines", names)
	}
	for _, name := range names {
		path := filepath.Join(cfg.LogDir, name)
		if got := content(t, path); got != strings.Repeat(line+"\n", 3) {
			t.Errorf("%s holds %d bytes, want 3 lines", name, len(got))
		}
		if info, _ := os.Stat(path); info.Size() > 1000 {
			t.Errorf("%s is %d bytes on disk: not compressed?", name, info.Size())
		}
	}
}

// A write into a segment that has reached MaxSegmentDuration still goes into it, then closes it.
func TestRotateByDurationAfterWrite(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxSegmentDuration = time.Minute
	w := mustOpen(t, cfg)
	mustWrite(t, w, "Delivery", "1")
	clk.Advance(59 * time.Second)
	mustWrite(t, w, "Delivery", "2")
	first := filepath.Join(cfg.LogDir, "20241108-153012")
	if !writable(t, first) {
		t.Fatal("closed before a minute")
	}
	clk.Advance(time.Second)
	mustWrite(t, w, "Delivery", "3")
	if writable(t, first) {
		t.Fatal("open after a minute and a write")
	}
	mustWrite(t, w, "Delivery", "4")
	mustClose(t, w)
	checkDir(t, cfg.LogDir, map[string]string{
		"20241108-153012": "1\n2\n3\n",
		"20241108-153112": "4\n",
	})
}

// While idle, Tick closes segments once they reach MaxSegmentDuration; Deadline says when.
func TestTickClosesExpiredSegments(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxSegmentDuration = time.Minute
	cfg.PerRecord = map[string]RecordParams{"Bounce": {Suffix: "_b"}}
	w := mustOpen(t, cfg)
	if _, ok := w.Deadline(); ok {
		t.Error("Deadline with no open segment")
	}
	mustWrite(t, w, "Delivery", "d")
	clk.Advance(30 * time.Second)
	mustWrite(t, w, "Bounce", "b")
	if d, ok := w.Deadline(); !ok || !d.Equal(start.Add(time.Minute)) {
		t.Errorf("Deadline = %v, %v; want %v", d, ok, start.Add(time.Minute))
	}
	del, bounce := filepath.Join(cfg.LogDir, "20241108-153012"), filepath.Join(cfg.LogDir, "20241108-153042_b")
	clk.Advance(29 * time.Second)
	if err := w.Tick(); err != nil {
		t.Fatal(err)
	}
	if !writable(t, del) {
		t.Fatal("Tick closed a segment before its minute")
	}
	clk.Advance(time.Second)
	if err := w.Tick(); err != nil {
		t.Fatal(err)
	}
	if writable(t, del) || !writable(t, bounce) {
		t.Fatalf("after a minute: delivery writable %v, bounce writable %v; want false, true",
			writable(t, del), writable(t, bounce))
	}
	if d, ok := w.Deadline(); !ok || !d.Equal(start.Add(90*time.Second)) {
		t.Errorf("Deadline = %v, %v; want %v", d, ok, start.Add(90*time.Second))
	}
	clk.Advance(30 * time.Second)
	if err := w.Tick(); err != nil {
		t.Fatal(err)
	}
	if writable(t, bounce) {
		t.Fatal("bounce segment open after its minute")
	}
	if _, ok := w.Deadline(); ok {
		t.Error("Deadline with every segment closed")
	}
	checkDir(t, cfg.LogDir, map[string]string{"20241108-153012": "d\n", "20241108-153042_b": "b\n"})
}

// While busy, every 10,000th Write closes expired segments of other (dir, suffix) pairs too.
func TestBusyWriterChecksExpiryEvery10000Writes(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxSegmentDuration = time.Minute
	cfg.PerRecord = map[string]RecordParams{"Bounce": {Suffix: "_b"}}
	w := mustOpen(t, cfg)
	mustWrite(t, w, "Bounce", "b") // write 1
	clk.Advance(2 * time.Minute)
	for range 9998 { // writes 2..9999
		mustWrite(t, w, "Delivery", "d")
	}
	bounce := filepath.Join(cfg.LogDir, "20241108-153012_b")
	if !writable(t, bounce) {
		t.Fatal("expired segment closed before the 10,000th write")
	}
	mustWrite(t, w, "Delivery", "d") // write 10,000
	if writable(t, bounce) {
		t.Fatal("expired segment still open after the 10,000th write")
	}
	mustWrite(t, w, "Bounce", "b2")
	mustClose(t, w)
	got := files(t, cfg.LogDir)
	want := []string{"20241108-153212", "20241108-153212_b", "20241108-153012_b"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	if c := content(t, filepath.Join(cfg.LogDir, "20241108-153212")); c != strings.Repeat("d\n", 9999) {
		t.Errorf("delivery segment holds %d bytes", len(c))
	}
}

// Without MaxSegmentDuration segments never expire.
func TestNoDurationNeverExpires(t *testing.T) {
	clk, cfg := setup(t)
	w := mustOpen(t, cfg)
	mustWrite(t, w, "Delivery", "1")
	clk.Advance(1000 * time.Hour)
	if err := w.Tick(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "Delivery", "2")
	if _, ok := w.Deadline(); ok {
		t.Error("Deadline without MaxSegmentDuration")
	}
	mustClose(t, w)
	checkDir(t, cfg.LogDir, map[string]string{"20241108-153012": "1\n2\n"})
}

// Many rotations reuse encoders without mixing segments' data.
func TestManyRotations(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxFileSize = 50
	cfg.PerRecord = map[string]RecordParams{"Bounce": {Suffix: "_b", SegmentHeader: "B\n"}}
	w := mustOpen(t, cfg)
	want := map[string]string{}
	for i := range 200 {
		kind, suffix, header := "Delivery", "", ""
		if i%3 == 0 {
			kind, suffix, header = "Bounce", "_b", "B\n"
		}
		name := FormatSegmentName(clk.Now(), suffix)
		line := fmt.Sprintf("%s %04d %s", kind, i, strings.Repeat("x", 40))
		mustWrite(t, w, kind, line)
		want[name] = header + line + "\n"
		clk.Advance(time.Millisecond)
	}
	mustClose(t, w)
	checkDir(t, cfg.LogDir, want)
}
