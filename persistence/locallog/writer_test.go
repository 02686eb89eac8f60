package locallog

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

func TestWriteRoundTrip(t *testing.T) {
	clk, cfg := setup(t)
	clk.Advance(123456 * time.Microsecond)
	w := mustOpen(t, cfg)
	lines := []string{`{"type":"Delivery","n":1}`, "with newline\n", "", "\n", strings.Repeat("x", 300_000)}
	for _, l := range lines {
		mustWrite(t, w, "Delivery", l)
	}
	mustClose(t, w)

	if got, want := files(t, cfg.LogDir), []string{"20241108-153012.123456"}; !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	want := `{"type":"Delivery","n":1}` + "\nwith newline\n\n\n" + strings.Repeat("x", 300_000) + "\n"
	path := filepath.Join(cfg.LogDir, "20241108-153012.123456")
	if got := content(t, path); got != want {
		t.Errorf("content = %.80q (%d bytes), want %d bytes", got, len(got), len(want))
	}
	if got, ok, err := zstdcat(t, path); ok && (err != nil || got != want) {
		t.Errorf("zstd -dc: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
}

// Segments opened at the same clock reading get names one nanosecond apart.
func TestSameInstantNamesDoNotCollide(t *testing.T) {
	_, cfg := setup(t)
	cfg.MaxFileSize = 1 // every write closes its segment
	w := mustOpen(t, cfg)
	for i := range 3 {
		mustWrite(t, w, "Delivery", fmt.Sprint("line ", i))
	}
	mustClose(t, w)
	want := []string{"20241108-153012", "20241108-153012.000000001", "20241108-153012.000000002"}
	got := files(t, cfg.LogDir)
	if !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	for i, name := range got {
		if c := content(t, filepath.Join(cfg.LogDir, name)); c != fmt.Sprint("line ", i, "\n") {
			t.Errorf("%s holds %q", name, c)
		}
	}
}

// A clock that goes backwards does not make names go backwards or repeat.
func TestNamesIncreaseWhenClockGoesBack(t *testing.T) {
	now := start.Add(time.Second)
	clk := &steppedClock{times: []time.Time{now, start, start.Add(500 * time.Millisecond)}}
	cfg := Config{LogDir: t.TempDir(), Clock: clk, MaxFileSize: 1}
	w := mustOpen(t, cfg)
	for range 3 {
		mustWrite(t, w, "Delivery", "x")
	}
	mustClose(t, w)
	want := []string{"20241108-153013", "20241108-153013.000000001", "20241108-153013.000000002"}
	if got := files(t, cfg.LogDir); !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
}

// A file left with the name a new segment wants is skipped over, and left alone.
func TestNameTakenByLeftoverFile(t *testing.T) {
	_, cfg := setup(t)
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"20241108-153012_d", "20241108-153012.000000001_d"} {
		if err := os.WriteFile(filepath.Join(cfg.LogDir, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg.PerRecord = map[string]RecordParams{"Delivery": {Suffix: "_d"}}
	w := mustOpen(t, cfg)
	mustWrite(t, w, "Delivery", "new")
	mustClose(t, w)
	want := []string{"20241108-153012.000000001_d", "20241108-153012.000000002_d", "20241108-153012_d"}
	if got := files(t, cfg.LogDir); !slices.Equal(got, want) {
		t.Fatalf("files = %q, want %q", got, want)
	}
	if c := content(t, filepath.Join(cfg.LogDir, "20241108-153012.000000002_d")); c != "new\n" {
		t.Errorf("new segment holds %q", c)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.LogDir, "20241108-153012_d")); string(b) != "old" {
		t.Errorf("leftover changed to %q", b)
	}
}

func TestPerRecordParams(t *testing.T) {
	_, cfg := setup(t)
	other := filepath.Join(t.TempDir(), "deep", "er")
	cfg.PerRecord = map[string]RecordParams{
		AnyRecord:  {Suffix: "_any", SegmentHeader: "# any\n"},
		"Delivery": {Suffix: "_del", LogDir: other},
		"Bounce":   {SegmentHeader: "# bounce\n"}, // no suffix: not taken from Any
	}
	w := mustOpen(t, cfg)
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("Open did not create the per-record dir: %v", err)
	}
	mustWrite(t, w, "Delivery", "d1")
	mustWrite(t, w, "Reception", "r1")
	mustWrite(t, w, "Bounce", "b1")
	mustWrite(t, w, "TransientFailure", "t1")
	mustWrite(t, w, "Delivery", "d2")
	mustClose(t, w)

	wantMain := map[string]string{
		"20241108-153012_any": "# any\nr1\nt1\n",
		"20241108-153012":     "# bounce\nb1\n",
	}
	checkDir(t, cfg.LogDir, wantMain)
	checkDir(t, other, map[string]string{"20241108-153012_del": "d1\nd2\n"})
}

// checkDir checks that dir holds exactly the complete, read-only segments in want.
func checkDir(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	got := files(t, dir)
	wantNames := make([]string, 0, len(want))
	for name := range want {
		wantNames = append(wantNames, name)
	}
	slices.Sort(wantNames)
	if !slices.Equal(got, wantNames) {
		t.Fatalf("%s holds %q, want %q", dir, got, wantNames)
	}
	for name, c := range want {
		path := filepath.Join(dir, name)
		if got := content(t, path); got != c {
			t.Errorf("%s = %q, want %q", name, got, c)
		}
		if writable(t, path) {
			t.Errorf("%s is writable after Close", name)
		}
	}
}

// The header comes from the record that opens a segment, and starts every segment.
func TestSegmentHeaderOnEachSegment(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxFileSize = 6
	cfg.PerRecord = map[string]RecordParams{
		"Delivery": {SegmentHeader: "#D\n"},
		"Bounce":   {SegmentHeader: "#B\n"},
	}
	w := mustOpen(t, cfg)
	mustWrite(t, w, "Delivery", "d1") // opens segment 1
	mustWrite(t, w, "Bounce", "b1")   // 6 bytes: closes it
	clk.Advance(time.Second)
	mustWrite(t, w, "Bounce", "b2") // opens segment 2
	mustWrite(t, w, "Delivery", "d2")
	clk.Advance(time.Second)
	mustWrite(t, w, "Reception", "r1") // no params: no header
	mustClose(t, w)
	checkDir(t, cfg.LogDir, map[string]string{
		"20241108-153012": "#D\nd1\nb1\n",
		"20241108-153013": "#B\nb2\nd2\n",
		"20241108-153014": "r1\n",
	})
}

func TestOpenMarksLeftoversReadOnly(t *testing.T) {
	_, cfg := setup(t)
	other := filepath.Join(t.TempDir(), "other")
	cfg.PerRecord = map[string]RecordParams{"Delivery": {LogDir: other}}
	for _, dir := range []string{cfg.LogDir, other} {
		if err := os.MkdirAll(filepath.Join(dir, "subdir"), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"20240101-000000", "notes.txt", ".checkpoint"} {
			if err := os.WriteFile(filepath.Join(dir, name), nil, 0o664); err != nil {
				t.Fatal(err)
			}
		}
	}
	outside := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(cfg.LogDir, "link")); err != nil {
		t.Fatal(err)
	}
	w := mustOpen(t, cfg)
	if !writable(t, outside) {
		t.Error("a symlink in the log dir was followed")
	}
	for _, dir := range []string{cfg.LogDir, other} {
		for name, wantWritable := range map[string]bool{
			"20240101-000000": false, "notes.txt": false, ".checkpoint": true, "subdir": true,
		} {
			if got := writable(t, filepath.Join(dir, name)); got != wantWritable {
				t.Errorf("%s writable = %v, want %v", filepath.Join(dir, name), got, wantWritable)
			}
		}
		if info, _ := os.Stat(filepath.Join(dir, "notes.txt")); info.Mode().Perm() != 0o444 {
			t.Errorf("notes.txt mode = %v, want read bits kept", info.Mode().Perm())
		}
	}
	mustWrite(t, w, "Delivery", "x")
}

func TestReadOnlyOnlyAfterClose(t *testing.T) {
	_, cfg := setup(t)
	w := mustOpen(t, cfg)
	mustWrite(t, w, "Delivery", "x")
	path := filepath.Join(cfg.LogDir, "20241108-153012")
	if !writable(t, path) {
		t.Fatal("open segment is read-only")
	}
	mustClose(t, w)
	if writable(t, path) {
		t.Fatal("closed segment is writable")
	}
}

// Flush makes everything written so far decodable, and zstd-readable, before the segment closes.
func TestFlushMakesDataReadable(t *testing.T) {
	_, cfg := setup(t)
	w := mustOpen(t, cfg)
	path := filepath.Join(cfg.LogDir, "20241108-153012")
	var want strings.Builder
	for i := range 1000 {
		line := fmt.Sprintf(`{"n":%d,"pad":"%s"}`, i, strings.Repeat("p", i%50))
		mustWrite(t, w, "Delivery", line)
		want.WriteString(line + "\n")
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := decode(t, path)
	if got != want.String() {
		t.Fatalf("after Flush decoded %d bytes, want %d", len(got), want.Len())
	}
	if err == nil {
		t.Error("an unfinished frame decoded without a truncation error")
	}
	if got, ok, _ := zstdcat(t, path); ok && got != want.String() {
		t.Errorf("zstd -dc after Flush printed %d bytes, want %d", len(got), want.Len())
	}
	mustWrite(t, w, "Delivery", "last")
	mustClose(t, w)
	if got := content(t, path); got != want.String()+"last\n" {
		t.Errorf("after Close decoded %d bytes", len(got))
	}
}

func TestCompressionLevels(t *testing.T) {
	for _, level := range []int{-5, 0, 1, 3, 6, 10, 19, 22} {
		t.Run(fmt.Sprint(level), func(t *testing.T) {
			_, cfg := setup(t)
			cfg.CompressionLevel = level
			w := mustOpen(t, cfg)
			line := strings.Repeat(`{"level":"check"}`, 10)
			for range 100 {
				mustWrite(t, w, "Delivery", line)
			}
			mustClose(t, w)
			if got := content(t, filepath.Join(cfg.LogDir, "20241108-153012")); got != strings.Repeat(line+"\n", 100) {
				t.Errorf("decoded %d bytes", len(got))
			}
		})
	}
}

func TestEncoderLevelMapping(t *testing.T) {
	want := map[int]zstd.EncoderLevel{
		math.MinInt: zstd.SpeedFastest, -1: zstd.SpeedFastest, 0: zstd.SpeedDefault,
		1: zstd.SpeedFastest, 2: zstd.SpeedFastest, 3: zstd.SpeedDefault, 5: zstd.SpeedDefault,
		6: zstd.SpeedBetterCompression, 9: zstd.SpeedBetterCompression,
		10: zstd.SpeedBestCompression, 21: zstd.SpeedBestCompression, 22: zstd.SpeedBestCompression,
	}
	for level, w := range want {
		if got, err := encoderLevel(level); err != nil || got != w {
			t.Errorf("encoderLevel(%d) = %v, %v; want %v", level, got, err, w)
		}
	}
	if _, err := encoderLevel(23); err == nil {
		t.Error("encoderLevel(23) succeeded")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := map[string]Config{
		"no log dir":         {},
		"log dir is a file":  {LogDir: file},
		"under a file":       {LogDir: filepath.Join(file, "logs")},
		"per-record dir bad": {LogDir: dir, PerRecord: map[string]RecordParams{"Delivery": {LogDir: filepath.Join(file, "x")}}},
		"suffix with slash":  {LogDir: dir, PerRecord: map[string]RecordParams{"Any": {Suffix: "a/b"}}},
		"level 23":           {LogDir: dir, CompressionLevel: 23},
		"negative size":      {LogDir: dir, MaxFileSize: -1},
		"negative duration":  {LogDir: dir, MaxSegmentDuration: -time.Second},
	}
	for name, cfg := range tests {
		if w, err := Open(cfg); err == nil {
			w.Close()
			t.Errorf("%s: Open succeeded", name)
		}
	}
}

func TestWriteAfterClose(t *testing.T) {
	_, cfg := setup(t)
	w := mustOpen(t, cfg)
	mustClose(t, w)
	if err := w.Write("Delivery", []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
	if err := errors.Join(w.Tick(), w.Flush(), w.Close()); err != nil {
		t.Errorf("Tick, Flush, Close after Close: %v", err)
	}
	if got := files(t, cfg.LogDir); len(got) != 0 {
		t.Errorf("files = %q, want none", got)
	}
}

// Writes, Ticks and Flushes from several goroutines keep every line whole (run with -race).
func TestConcurrentUse(t *testing.T) {
	clk, cfg := setup(t)
	cfg.MaxFileSize = 4096
	cfg.MaxSegmentDuration = time.Second
	cfg.PerRecord = map[string]RecordParams{"Bounce": {Suffix: "_b"}}
	w := mustOpen(t, cfg)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			kind := []string{"Delivery", "Bounce"}[g%2]
			for i := range 500 {
				if err := w.Write(kind, fmt.Appendf(nil, "g%d-%d", g, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 100 {
			clk.Advance(100 * time.Millisecond)
			if err := errors.Join(w.Tick(), w.Flush()); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	mustClose(t, w)
	var lines []string
	for _, name := range files(t, cfg.LogDir) {
		lines = append(lines, strings.Fields(content(t, filepath.Join(cfg.LogDir, name)))...)
	}
	if len(lines) != 2000 {
		t.Fatalf("%d lines, want 2000", len(lines))
	}
	slices.Sort(lines)
	if len(slices.Compact(lines)) != 2000 {
		t.Error("duplicate lines")
	}
}
