package bench

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestClusterConfig(t *testing.T) {
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Records: 1, Cluster: 1}, "a cluster has 2 to 16 members (got 1)"},
		{Config{Records: 1, Cluster: -2}, "a cluster has 2 to 16 members (got -2)"},
		{Config{Records: 1, Cluster: MaxCluster + 1}, "a cluster has 2 to 16 members (got 17)"},
		{Config{Records: 1, Cluster: 3, Target: "http://127.0.0.1:8000"}, "cannot drive a target node"},
		{Config{Records: 1, Cluster: 3, Dead: true}, "dead-webhook mode delivers nothing"},
		{Config{Records: 1, Cluster: 3, SpoolDir: "spool"}, "a spool directory is for the single node alone"},
	} {
		_, err := tt.cfg.withDefaults()
		var ce *ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v; want a ConfigError containing %q", tt.cfg, err, tt.want)
		}
	}
	for _, tt := range []struct {
		cfg        Config
		wantQueues int
	}{
		{Config{Records: 1}, 1},
		{Config{Records: 1, Cluster: 3}, 12},
		{Config{Records: 1, Cluster: 2, Memory: true, Baseline: true}, 8},
		{Config{Records: 1, Cluster: 3, Queues: 5}, 5},
	} {
		cfg, err := tt.cfg.withDefaults()
		if err != nil || cfg.Queues != tt.wantQueues || cfg.Cluster != tt.cfg.Cluster {
			t.Errorf("%+v: %d queues, cluster %d (%v); want %d queues", tt.cfg, cfg.Queues, cfg.Cluster, err, tt.wantQueues)
		}
	}
}

func TestClusterFigures(t *testing.T) {
	single := &Phase{Records: 1000, CPUSeconds: 0.050, DeliverRate: 2000, AcceptRate: 2500}
	cl := &Phase{Records: 1000, CPUSeconds: 0.070, DeliverRate: 1500, AcceptRate: 2000}
	members := []MemberFigures{
		{ID: "m1", Offered: 334, Forwarded: 300, HandedIn: 100, Queues: 2},
		{ID: "m2", Offered: 333, Forwarded: 300, HandedIn: 200, Queues: 1},
		{ID: "m3", Offered: 333, Forwarded: 0, HandedIn: 300, Queues: 3},
	}
	f := clusterFiguresOf(single, cl, members)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9*math.Max(1, math.Abs(want)) }
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"forwarded fraction", f.ForwardedFraction, 0.6},
		{"expected fraction", f.ExpectedFraction, 2.0 / 3},
		{"delivered/s ratio", f.DeliverRatio, 0.75},
		{"accepted/s ratio", f.AcceptRatio, 0.8},
		{"single CPU µs per record", f.SingleCPUPerRecord, 50},
		{"cluster CPU µs per record", f.ClusterCPUPerRecord, 70},
		{"CPU µs per forwarded record", f.ForwardCPU, 20 / 0.6},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if f.Members != 3 || f.Forwarded != 600 || f.HandedIn != 600 || len(f.PerMember) != 3 {
		t.Errorf("figures %+v; want 3 members, 600 forwarded and handed in", f)
	}
	var out bytes.Buffer
	if err := f.writeTable(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cluster of 3 members", "0.75x", "600 of 1000 records (60.0%; 66.7% expected), 600 handed in",
		"33.3 µs = (70.0 - 50.0 µs) / 0.600", "queues owned"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q:\n%s", want, out.String())
		}
	}

	// Nothing forwarded (every queue's owner was offered its records): no cost per forward.
	none := clusterFiguresOf(single, cl, []MemberFigures{{ID: "m1", Offered: 1000}, {ID: "m2"}})
	if none.ForwardedFraction != 0 || none.ForwardCPU != 0 || none.ExpectedFraction != 0.5 {
		t.Errorf("nothing forwarded: %+v", none)
	}
	out.Reset()
	if err := none.writeTable(&out); err != nil || !strings.Contains(out.String(), "nothing was forwarded") {
		t.Errorf("nothing forwarded (%v):\n%s", err, out.String())
	}
	// Phases that measured nothing give zeros, not NaN or infinities.
	zero := clusterFiguresOf(&Phase{}, &Phase{}, nil)
	if zero.ForwardCPU != 0 || zero.DeliverRatio != 0 || zero.SingleCPUPerRecord != 0 || zero.ExpectedFraction != 0 {
		t.Errorf("empty phases: %+v", zero)
	}
}

func TestRunCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("forms a cluster of three engines (about 3 s)")
	}
	const n = 600
	rep, err := Run(context.Background(), Config{Records: n, Memory: true, Cluster: 3, Timeout: 30 * time.Second,
		DecodeEvery: 7})
	if err != nil {
		t.Fatal(err)
	}
	checkPhase(t, rep.Hookd, n)
	checkPhase(t, rep.Cluster, n)
	f := rep.ClusterFigures
	if f == nil {
		t.Fatal("no cluster figures")
	}
	var offered, delivered, queues int
	for _, m := range f.PerMember {
		offered += m.Offered
		delivered += int(m.Delivered)
		queues += m.Queues
		if m.Offered != n/3 || m.Kept != uint64(m.Offered) {
			t.Errorf("member %+v; want %d records offered to each and all kept", m, n/3)
		}
	}
	if f.Members != 3 || offered != n || delivered != n || queues != 12 {
		t.Errorf("members %+v; want %d records offered and delivered over 3 members owning 12 queues", f.PerMember, n)
	}
	// Round-robin offering forwards about two records in three; which queue a record is in
	// follows the generator, so the fraction is near that, not exactly it.
	if f.Forwarded != f.HandedIn || f.ForwardedFraction < 0.5 || f.ForwardedFraction > 0.8 {
		t.Errorf("forwarded %d, handed in %d (%.3f of the records); want them equal, about 2/3", f.Forwarded, f.HandedIn,
			f.ForwardedFraction)
	}
	if e := rep.Cluster.Engine; e == nil || e.Kept != n || e.Delivered != n || e.Forwarded != f.Forwarded || e.Queued != 0 {
		t.Errorf("the cluster's engine totals %+v", e)
	}
	if f.SingleCPUPerRecord <= 0 || f.ClusterCPUPerRecord <= 0 || f.DeliverRatio <= 0 {
		t.Errorf("figures %+v; want CPU and rates measured", f)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil || !strings.Contains(table.String(), "CPU per forwarded record") ||
		strings.Contains(table.String(), "INCOMPLETE") {
		t.Errorf("table (%v):\n%s", err, table.String())
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil || !strings.Contains(js.String(), `"cpu_us_per_forwarded_record"`) {
		t.Errorf("JSON (%v):\n%s", err, js.String())
	}
}
