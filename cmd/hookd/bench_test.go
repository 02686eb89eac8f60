package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchCommand(t *testing.T) {
	t.Run("bad flags exit 2 and say what is wrong", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--mix", "Delivry=1"}, `--mix: "Delivry" is not a record type`},
			{[]string{"--mix", "Delivery=-1"}, "--mix: Delivery: weight -1 is negative"},
			{[]string{"--records", "0"}, "records must be at least 1"},
			{[]string{"--fail-rate", "1"}, "fail rate must be in [0, 1)"},
			{[]string{"--dead", "--baseline"}, "takes neither a baseline"},
			{[]string{"--target", "http://127.0.0.1:1", "--memory"}, "the memory spool applies to an engine in this process"},
			{[]string{"--records", "5", "extra"}, `unexpected argument "extra"`},
			{[]string{"--records", "5", "--heap-budget", "-1"}, "--heap-budget must not be negative"},
			{[]string{"--baseline-cpuprofile", filepath.Join(t.TempDir(), "b.pprof")}, "needs the baseline phase (--baseline)"},
		} {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"bench"}, tt.args...), &stdout, &stderr); code != 2 ||
				!strings.Contains(stderr.String(), tt.want) {
				t.Errorf("bench %v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
			}
		}
	})

	t.Run("a small run prints a complete report as a table", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		profile, baseProfile := filepath.Join(t.TempDir(), "cpu.pprof"), filepath.Join(t.TempDir(), "base.pprof")
		code := run([]string{"bench", "--records", "300", "--memory", "--baseline", "--cpuprofile", profile,
			"--baseline-cpuprofile", baseProfile}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		for _, want := range []string{"hookd/baseline", "delivered (distinct)", "300 of 300", "CPU s per 1k records"} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("the table lacks %q:\n%s", want, stdout.String())
			}
		}
		for flag, path := range map[string]string{"--cpuprofile": profile, "--baseline-cpuprofile": baseProfile} {
			if st, err := os.Stat(path); err != nil || st.Size() == 0 {
				t.Errorf("%s wrote no profile: %v", flag, err)
			}
		}
		// Progress goes to stderr; not a terminal here, so as plain lines.
		if !strings.Contains(stderr.String(), "hookd: accepted") || strings.Contains(stderr.String(), "\r") {
			t.Errorf("progress on stderr: %q", stderr.String())
		}
	})

	t.Run("--json --quiet prints only JSON", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		code := run([]string{"bench", "--records", "200", "--memory", "--batch", "20", "--json", "--quiet"}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		var rep struct {
			Settings struct{ Batch int }
			Hookd    struct {
				Complete bool
				Receiver struct{ Unique int }
			}
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%v:\n%s", err, stdout.String())
		}
		if !rep.Hookd.Complete || rep.Hookd.Receiver.Unique != 200 || rep.Settings.Batch != 20 || stderr.Len() != 0 {
			t.Errorf("report %+v, stderr %q", rep, stderr.String())
		}
	})
}
