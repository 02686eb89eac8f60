package puretest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that keeps what Check reports.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Errorf(format string, args ...any) { r.errors = append(r.errors, format) }
func (r *recorder) Helper()                           {}

func TestCheckFindsClockReadsAndIO(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pure.go", "package p\nimport \"time\"\nfunc Due(now time.Time, d time.Duration) time.Time { return now.Add(d) }\n")
	write("pure_test.go", "package p\nimport \"time\"\nvar _ = time.Now()\n") // tests may
	r := &recorder{TB: t}
	Check(r, dir)
	if len(r.errors) != 0 {
		t.Fatalf("a pure package reported: %q", r.errors)
	}
	write("impure.go", "package p\nimport (\n\"net/http\"\n\"time\"\n)\nvar _ = http.MethodGet\nfunc Wait() { time.Sleep(time.Second); _ = time.Now() }\n")
	r = &recorder{TB: t}
	Check(r, dir)
	if got := strings.Join(r.errors, "\n"); len(r.errors) != 3 {
		t.Fatalf("reported %d problems, want 3 (net/http, Sleep, Now):\n%s", len(r.errors), got)
	}
}
