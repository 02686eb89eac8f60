package main

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoTable splits the rows of one of hookd demo's tables (columns two spaces or more apart) into
// their fields, keyed by the first.
func demoTable(t *testing.T, text string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		fields := regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
		rows[fields[0]] = fields[1:]
	}
	return rows
}

func TestDemoCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("forms a cluster of three engines in a hookd process")
	}
	const records = 300
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	code, stdout, stderr := runHookd(t, ctx, t.TempDir(), "demo", "--cluster", "3", "--records", strconv.Itoa(records),
		"--fail-rate", "0", "--timeout", "60s")
	if code != 0 {
		t.Fatalf("hookd demo --cluster 3 exited %d; want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if stderr != "" {
		t.Errorf("stderr: %q; want nothing (the membership's logs go to the demo's error-level logger)", stderr)
	}
	head, rest, ok := strings.Cut(stdout, "\nmembers\n")
	if !ok || !strings.Contains(head, "a cluster of 3 members in this process (m1 127.0.0.1:") {
		t.Fatalf("no members table, or no header naming the members, in:\n%s", stdout)
	}
	table, sum, ok := strings.Cut(rest, "\nsummary\n")
	if !ok {
		t.Fatalf("no summary table in:\n%s", stdout)
	}
	rows := demoTable(t, table)
	cols := rows["member"]
	if want := []string{"records offered", "kept", "delivered", "forwarded", "handed in", "queues owned", "queued"}; fmt.Sprint(cols) != fmt.Sprint(want) {
		t.Fatalf("members table header %q; want %q\n%s", cols, want, table)
	}
	num := func(id string, col int) int {
		t.Helper()
		r := rows[id]
		if len(r) != len(cols) {
			t.Fatalf("members table row %q = %q; want %d figures\n%s", id, r, len(cols), table)
		}
		v, err := strconv.Atoi(r[col])
		if err != nil {
			t.Fatalf("row %s, %s = %q: %v", id, cols[col], r[col], err)
		}
		return v
	}
	const offered, kept, delivered, forwarded, handedIn, queues, queued = 0, 1, 2, 3, 4, 5, 6
	sums := make([]int, len(cols))
	for _, id := range []string{"m1", "m2", "m3"} {
		for c := range cols {
			sums[c] += num(id, c)
		}
		if num(id, queued) != 0 {
			t.Errorf("%s still holds %d messages once every record arrived", id, num(id, queued))
		}
	}
	for c := range cols {
		if num("total", c) != sums[c] {
			t.Errorf("total %s = %d; the members add up to %d", cols[c], num("total", c), sums[c])
		}
	}
	// Three hundred records, a hundred per Log call, one call to each member.
	for _, id := range []string{"m1", "m2", "m3"} {
		if num(id, offered) != 100 {
			t.Errorf("%s was offered %d records; want 100", id, num(id, offered))
		}
	}
	k := sums[kept]
	if k == 0 || sums[delivered] != k {
		t.Errorf("the members kept %d and delivered %d; want every kept record delivered once", k, sums[delivered])
	}
	if sums[forwarded] == 0 || sums[forwarded] != sums[handedIn] || sums[forwarded] >= k {
		t.Errorf("forwarded %d, handed in %d of %d kept; want some forwarded, each handed in once", sums[forwarded],
			sums[handedIn], k)
	}
	if sums[queues] < 2 || sums[queues] > 9 {
		t.Errorf("the members own %d queues; the policy makes at most nine, and they should be shared", sums[queues])
	}
	s := map[string]string{}
	for name, v := range demoTable(t, sum) {
		s[name] = strings.Join(v, " ")
	}
	for name, want := range map[string]string{
		"records in":                      strconv.Itoa(records),
		"kept by the policy":              strconv.Itoa(k),
		"delivered":                       strconv.Itoa(k),
		"distinct records at the webhook": fmt.Sprintf("%d of %d", k, k),
		"duplicates at the webhook":       "0",
	} {
		if s[name] != want {
			t.Errorf("summary row %q = %q; want %q\n%s", name, s[name], want, sum)
		}
	}
}

func TestDemoClusterFlag(t *testing.T) {
	for _, n := range []string{"1", "-1", "10"} {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		code, _, stderr := runHookd(t, ctx, t.TempDir(), "demo", "--cluster", n)
		cancel()
		if code != 2 || !strings.Contains(stderr, "--cluster takes 2 to 9 members (got "+n+")") {
			t.Errorf("demo --cluster %s: exit %d, stderr %q; want 2 and the allowed sizes", n, code, stderr)
		}
	}
}
