package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Each way a member cannot join ends `hookd run` at start with exit 1 and one line naming the member,
// within the join timeout: never a hang, never a panic.
func TestClusterJoinErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts hookd processes")
	}
	first := &clusterMember{id: "m1", listen: loopbackAddr(t), spool: filepath.Join(t.TempDir(), "spool")}
	first.node = startNodeWith(t, first.spool, clusterPolicy, []string{"--cluster-listen", first.listen,
		"--cluster-id", "m1"})
	webhookAbs, _ := filepath.Abs(webhookPolicy)
	clusterAbs, _ := filepath.Abs(clusterPolicy)
	cases := []struct {
		name   string
		policy string
		id     string
		peers  string
		want   []string
	}{
		{"duplicate cluster id", clusterAbs, "m1", first.listen,
			[]string{`member "m1" at ` + first.listen + ` refused us`, `the cluster id "m1" is already used`}},
		{"another policy", webhookAbs, "m2", first.listen,
			[]string{`member "m1" at ` + first.listen + ` refused us`, "policy hash"}},
		{"no peer answers", clusterAbs, "m3", loopbackAddr(t),
			[]string{"no member of --cluster-peers answered"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			start := time.Now()
			code, _, stderr := runHookd(t, ctx, t.TempDir(), "run", "--policy", c.policy, "--http", "127.0.0.1:0",
				"--spool", filepath.Join(t.TempDir(), "spool"), "--log-level", "error",
				"--cluster-listen", loopbackAddr(t), "--cluster-id", c.id, "--cluster-peers", c.peers,
				"--cluster-join-timeout", "2s")
			took := time.Since(start)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if code != 1 || len(lines) != 1 || strings.Contains(stderr, "panic") {
				t.Fatalf("exit %d after %v, stderr %q: want exit 1 and one line", code, took, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(lines[0], w) {
					t.Errorf("error %q does not say %q", lines[0], w)
				}
			}
			t.Logf("%s: %s (after %v)", c.name, lines[0], took.Round(10*time.Millisecond))
		})
	}
	if code := first.node.terminate(t); code != 0 {
		t.Errorf("the first member exited %d", code)
	}
}
