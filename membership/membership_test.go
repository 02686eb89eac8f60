package membership

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anthdm/hollywood/cluster"
	"github.com/anthdm/hollywood/remote"
)

func TestNewChecksConfig(t *testing.T) {
	t.Parallel()
	good := Config{ID: "a", Addr: "127.0.0.1:7001"}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"no id", func(c *Config) { c.ID = "" }, "the cluster id is empty"},
		{"space in id", func(c *Config) { c.ID = "a b" }, "space or a control character"},
		{"no port", func(c *Config) { c.Addr = "127.0.0.1" }, `member "a": address`},
		{"no host", func(c *Config) { c.Addr = ":7001" }, "names no host"},
		{"bad peer", func(c *Config) { c.Peers = []string{"127.0.0.1:7002", "nowhere"} }, `--cluster-peers entry "nowhere"`},
		{"negative", func(c *Config) { c.Heartbeat = -time.Second }, "negative duration"},
		{"dead too soon", func(c *Config) { c.Heartbeat, c.DeadAfter = time.Second, time.Second }, "less than two heartbeats"},
	} {
		cfg := good
		tc.mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: New = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	m, err := New(Config{ID: "a", Addr: "127.0.0.1:7001", Peers: []string{"127.0.0.1:7001", "h:2", "h:2"}})
	if err != nil {
		t.Fatal(err)
	}
	if m.cfg.Heartbeat != DefaultHeartbeat || m.cfg.DeadAfter != DefaultDeadAfter ||
		m.cfg.JoinTimeout != DefaultJoinTimeout || m.cfg.Incarnation == 0 || m.cfg.Clock == nil {
		t.Fatalf("defaults not applied: %+v", m.cfg)
	}
	if !slices.Equal(m.peers, []string{"h:2"}) {
		t.Fatalf("peers %v: our own address and duplicates stay", m.peers)
	}
	if len(m.Members().Members) != 0 {
		t.Fatal("a view before the cluster started")
	}
	m.Release(3) // before start: kept
	m.Leave()    // before start: nothing to tell
}

// TestSecondMembershipOnAnEngine: hollywood keeps the first actor of a PID and only broadcasts
// that it refused the second, so the second Membership on an engine says so through OnFatal.
func TestSecondMembershipOnAnEngine(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	first := launch(t, "a", addr, nil)
	first.waitView("a")
	fatal := make(chan error, 1)
	m, err := New(Config{ID: "a2", Addr: addr, OnFatal: func(err error) { fatal <- err }})
	if err != nil {
		t.Fatal(err)
	}
	c, err := cluster.New(cluster.NewConfig().WithEngine(first.engine).WithID("a2").WithListenAddr(addr).
		WithProvider(m.Provider()))
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	defer c.Stop()
	select {
	case err := <-fatal:
		want := `hookd: cluster: member "a2" at ` + addr + `: another membership actor already runs on this engine`
		if err.Error() != want {
			t.Fatalf("OnFatal(%q), want %q", err, want)
		}
	case <-time.After(testWait):
		t.Fatal("no OnFatal")
	}
	first.waitView("a")
}

// TestNewEngine: the engine's remote listens once NewEngine returns, and stops.
func TestNewEngine(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	e, r, err := NewEngine(addr, remote.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	if e.Address() != addr {
		t.Fatalf("engine address %q, want %q", e.Address(), addr)
	}
	if _, _, err := NewEngine(addr, remote.NewConfig()); err == nil {
		t.Fatal("a second engine listened at the same address")
	}
	r.Stop().Wait()
}
