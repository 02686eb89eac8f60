package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLuaMemoryLimit runs a policy whose 'hog' hook builds about 1 GiB of tables for each Bounce
// record: each such call is stopped at the Lua state's memory limit with an error naming the hook's
// event and the limit, the other hook keeps delivering, and once the state is rebuilt the node's
// RSS is back within 50 MiB of where it was before.
func TestLuaMemoryLimit(t *testing.T) {
	recv, url := webhook(t, nil)
	node := startNodeWith(t, filepath.Join(t.TempDir(), "spool"), "testdata/hog.lua",
		[]string{"--lua-deadline", "should_enqueue_log_record=2m"}, "HOOKD_TEST_WEBHOOK="+url)
	good := mailEvents(1000, map[string]int{"Delivery": 50})
	postRecords(t, node, "ndjson", good)
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(len(good))); err != nil {
		t.Fatalf("%d of %d warm-up deliveries: %v", recv.Stats().Unique, len(good), err)
	}
	before := rssMiB(t, node.cmd.Process.Pid)

	hogs := mailEvents(2000, map[string]int{"Bounce": 2})
	more := mailEvents(3000, map[string]int{"Delivery": 50})
	postRecords(t, node, "ndjson", append(hogs, more...))
	if err := recv.WaitFor(ctx, uint64(len(good)+len(more))); err != nil {
		t.Fatalf("the healthy hook delivered %d of %d beside the hog: %v", recv.Stats().Unique, len(good)+len(more), err)
	}
	waitFor(t, "both hog calls to be reported", func() bool {
		return strings.Count(node.stderr.String(), "grew past the memory limit of 64 MiB") >= 2
	})
	line := firstLine(node.stderr.String(), "memory limit")
	for _, want := range []string{"hook=hog", "hog.lua:1", "should_enqueue_log_record"} {
		if !strings.Contains(line, want) {
			t.Errorf("the error line %q does not name %q", line, want)
		}
	}
	var after int
	waitFor(t, "RSS to come back", func() bool {
		after = rssMiB(t, node.cmd.Process.Pid)
		return after <= before+50
	})
	t.Logf("RSS %d MiB before the hog records, %d MiB after", before, after)
	postRecords(t, node, "object", mailEvents(4000, map[string]int{"Delivery": 1})) // the rebuilt states serve
	if err := recv.WaitFor(ctx, uint64(len(good)+len(more)+1)); err != nil {
		t.Fatalf("after the hog: %v", err)
	}
	if code := node.terminate(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

func firstLine(log, part string) string {
	for l := range strings.Lines(log) {
		if strings.Contains(l, part) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// rssMiB is a process's resident set size.
func rssMiB(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("VmRSS %q: %v", v, err)
			}
			return kb >> 10
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}
