package locallog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var errInjected = errors.New("injected fault")

// faults says which operations of the files a Writer creates fail from now on.
type faults struct {
	write, sync bool
	opened      []*faultyFile
}

// faultyFile is a real file whose writes and fsyncs fail on demand.
type faultyFile struct {
	segmentFile
	faults *faults
	closed bool
}

func (f *faultyFile) Write(p []byte) (int, error) {
	if f.faults.write {
		return 0, errInjected
	}
	return f.segmentFile.Write(p)
}

func (f *faultyFile) Sync() error {
	if f.faults.sync {
		return errInjected
	}
	return f.segmentFile.Sync()
}

func (f *faultyFile) Close() error {
	f.closed = true
	return f.segmentFile.Close()
}

// withFaults makes w create files that fail as fs says.
func withFaults(w *Writer) *faults {
	fs := &faults{}
	w.create = func(path string) (segmentFile, error) {
		f, err := createFile(path)
		if err != nil {
			return nil, err
		}
		ff := &faultyFile{segmentFile: f, faults: fs}
		fs.opened = append(fs.opened, ff)
		return ff, nil
	}
	return fs
}

// A failed flush abandons the segment: closed, read-only, readable up to its last block. The next
// record opens a new segment.
func TestFailedFlushAbandonsSegment(t *testing.T) {
	clk, cfg := setup(t)
	w := mustOpen(t, cfg)
	fs := withFaults(w)
	mustWrite(t, w, "Delivery", "kept")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "Delivery", "lost")
	fs.write = true
	if err := w.Flush(); !errors.Is(err, errInjected) {
		t.Fatalf("Flush = %v, want the injected error", err)
	}
	first := filepath.Join(cfg.LogDir, "20241108-153012")
	if !fs.opened[0].closed || writable(t, first) {
		t.Fatalf("abandoned segment: closed %v, writable %v", fs.opened[0].closed, writable(t, first))
	}
	if got, err := decode(t, first); got != "kept\n" || err == nil {
		t.Errorf("abandoned segment decodes to %q, %v; want the flushed line and a truncation error", got, err)
	}
	fs.write = false
	clk.Advance(1)
	mustWrite(t, w, "Delivery", "next")
	mustClose(t, w)
	if got := content(t, filepath.Join(cfg.LogDir, "20241108-153012.000000001")); got != "next\n" {
		t.Errorf("new segment holds %q", got)
	}
}

// A write that fills a block and fails abandons the segment and is reported by Write.
func TestFailedWriteAbandonsSegment(t *testing.T) {
	_, cfg := setup(t)
	w := mustOpen(t, cfg)
	fs := withFaults(w)
	mustWrite(t, w, "Delivery", "small")
	fs.write = true
	if err := w.Write("Delivery", []byte(strings.Repeat("x", 200_000))); !errors.Is(err, errInjected) {
		t.Fatalf("Write = %v, want the injected error", err)
	}
	if !fs.opened[0].closed {
		t.Fatal("failed segment left open")
	}
	fs.write = false
	mustWrite(t, w, "Delivery", "after")
	if len(fs.opened) != 2 {
		t.Fatalf("%d files created, want 2", len(fs.opened))
	}
	mustClose(t, w)
	if got := content(t, filepath.Join(cfg.LogDir, "20241108-153012.000000001")); got != "after\n" {
		t.Errorf("new segment holds %q", got)
	}
}

// A failed fsync at close is returned, and the file is still closed and made read-only.
func TestFailedSyncAtClose(t *testing.T) {
	_, cfg := setup(t)
	cfg.MaxFileSize = 1
	w := mustOpen(t, cfg)
	fs := withFaults(w)
	fs.sync = true
	if err := w.Write("Delivery", []byte("x")); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "fsync") {
		t.Fatalf("Write rotating into a failed fsync = %v", err)
	}
	path := filepath.Join(cfg.LogDir, "20241108-153012")
	if !fs.opened[0].closed || writable(t, path) {
		t.Fatalf("closed %v, writable %v", fs.opened[0].closed, writable(t, path))
	}
	if got := content(t, path); got != "x\n" {
		t.Errorf("segment holds %q", got)
	}
}

// A log dir that becomes unusable makes Write fail with an error, not a panic, and the writer
// carries on once it is usable again.
func TestUnusableLogDir(t *testing.T) {
	_, cfg := setup(t)
	w := mustOpen(t, cfg)
	if err := os.Remove(cfg.LogDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.LogDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := w.Write("Delivery", []byte("x")); err == nil {
		t.Fatal("Write into a log dir that is a file succeeded")
	}
	if err := os.Remove(cfg.LogDir); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, w, "Delivery", "y") // the directory is created again
	mustClose(t, w)
	checkDir(t, cfg.LogDir, map[string]string{"20241108-153012": "y\n"})
}

// A process that stops without Close (a crash) leaves a segment that decodes up to its last Flush;
// the next Open marks it read-only and names its own segments around it.
func TestCrashKeepsFlushedData(t *testing.T) {
	_, cfg := setup(t)
	crashed, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, crashed, "Delivery", "flushed 1")
	mustWrite(t, crashed, "Delivery", "flushed 2")
	if err := crashed.Flush(); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, crashed, "Delivery", "buffered, lost")
	path := filepath.Join(cfg.LogDir, "20241108-153012")
	if got, err := decode(t, path); got != "flushed 1\nflushed 2\n" || err == nil {
		t.Fatalf("after the crash the segment decodes to %q, %v; want the flushed lines, truncated", got, err)
	}

	restarted := mustOpen(t, cfg) // same clock reading as the crashed writer's segment
	if writable(t, path) {
		t.Fatal("Open left the crashed segment writable")
	}
	mustWrite(t, restarted, "Delivery", "after restart")
	mustClose(t, restarted)
	if got := content(t, filepath.Join(cfg.LogDir, "20241108-153012.000000001")); got != "after restart\n" {
		t.Errorf("new segment holds %q", got)
	}
	if got, _ := decode(t, path); got != "flushed 1\nflushed 2\n" {
		t.Errorf("the crashed segment changed to %q", got)
	}
	crashed.Close() // release the descriptor; the result does not matter
}
