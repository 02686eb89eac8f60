package locallog

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/hookd/hookd/clock"
)

// start is a whole second, so the first segment's name has no fraction.
var start = time.Date(2024, 11, 8, 15, 30, 12, 0, time.UTC)

// setup returns a fake clock at start and a Config for a fresh temporary log dir using it.
func setup(t *testing.T) (*clock.Fake, Config) {
	t.Helper()
	clk := clock.NewFake(start)
	return clk, Config{LogDir: filepath.Join(t.TempDir(), "logs"), Clock: clk}
}

// mustOpen opens a Writer and closes it when the test ends.
func mustOpen(t *testing.T, cfg Config) *Writer {
	t.Helper()
	w, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return w
}

// mustWrite writes a line or fails the test.
func mustWrite(t *testing.T, w *Writer, recordType, line string) {
	t.Helper()
	if err := w.Write(recordType, []byte(line)); err != nil {
		t.Fatalf("Write(%s, %q): %v", recordType, line, err)
	}
}

// mustClose closes w or fails the test.
func mustClose(t *testing.T, w *Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// files returns the sorted names of the regular files in dir.
func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

// decode decompresses a whole segment; a truncated frame is an error, returned with the data
// decoded before it.
func decode(t *testing.T, path string) (string, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	data, err := io.ReadAll(dec)
	return string(data), err
}

// content decompresses a complete segment.
func content(t *testing.T, path string) string {
	t.Helper()
	s, err := decode(t, path)
	if err != nil {
		t.Fatalf("decoding %s: %v", filepath.Base(path), err)
	}
	return s
}

// writable reports whether any write permission bit of path is set.
func writable(t *testing.T, path string) bool {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()&0o222 != 0
}

// zstdcat decompresses path with the zstd command. ok is false (and the test says so) when the
// command is not installed; otherwise it returns the command's standard output and its error.
func zstdcat(t *testing.T, path string) (out string, ok bool, err error) {
	t.Helper()
	bin, lookErr := exec.LookPath("zstd")
	if lookErr != nil {
		t.Log("zstd command not installed: skipping the zstdcat check")
		return "", false, nil
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "-d", "-c", "-q", path)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err = cmd.Run(); err != nil {
		t.Logf("zstd -dc %s: %v: %s", filepath.Base(path), err, stderr.String())
	}
	return stdout.String(), true, err
}

// steppedClock reads the given times in turn, then the last one forever. It only tells the time.
type steppedClock struct {
	clock.Clock // nil: scheduling is not supported
	times       []time.Time
	next        int
}

func (c *steppedClock) Now() time.Time {
	t := c.times[min(c.next, len(c.times)-1)]
	c.next++
	return t
}
