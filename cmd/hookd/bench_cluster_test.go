package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchClusterCommand(t *testing.T) {
	t.Run("bad cluster flags exit 2 and say what is wrong", func(t *testing.T) {
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"--cluster", "1"}, "a cluster has 2 to 16 members (got 1)"},
			{[]string{"--cluster", "3", "--target", "http://127.0.0.1:1"}, "cannot drive a target node"},
			{[]string{"--cluster", "3", "--dead"}, "dead-webhook mode delivers nothing"},
			{[]string{"--cluster", "3", "--spool", t.TempDir()}, "a spool directory is for the single node alone"},
		} {
			var stdout, stderr bytes.Buffer
			if code := run(append([]string{"bench"}, tt.args...), &stdout, &stderr); code != 2 ||
				!strings.Contains(stderr.String(), tt.want) {
				t.Errorf("bench %v: exit %d, stderr %q; want 2 and %q", tt.args, code, stderr.String(), tt.want)
			}
		}
	})

	t.Run("a small cluster run reports the cost of a forward", func(t *testing.T) {
		if testing.Short() {
			t.Skip("forms a cluster of two engines")
		}
		var stdout, stderr bytes.Buffer
		code := run([]string{"bench", "--records", "300", "--memory", "--cluster", "2", "--json", "--quiet"}, &stdout, &stderr)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
		}
		var rep struct {
			Settings struct{ Cluster, Queues int }
			Cluster  struct {
				Complete bool
				Receiver struct{ Unique int }
			}
			ClusterFigures struct {
				Members   int
				Forwarded uint64
				HandedIn  uint64                  `json:"handed_in"`
				PerMember []struct{ Offered int } `json:"per_member"`
			} `json:"cluster_figures"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%v:\n%s", err, stdout.String())
		}
		f := rep.ClusterFigures
		if !rep.Cluster.Complete || rep.Cluster.Receiver.Unique != 300 || rep.Settings.Cluster != 2 || rep.Settings.Queues != 8 ||
			f.Members != 2 || len(f.PerMember) != 2 || f.Forwarded == 0 || f.Forwarded != f.HandedIn {
			t.Errorf("report %+v", rep)
		}
		if stderr.Len() != 0 {
			t.Errorf("stderr %q; want nothing with --quiet (the membership logs at the bench's log level)", stderr.String())
		}
	})
}
