package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/ownership"

	"github.com/hookd/hookd/internal/loopback"
)

// clusterPolicy puts each record in the queue its meta field "q" names and POSTs it to the
// webhook with the delivering member's ID (kumo.member, one of Config.Functions, so every member
// runs the same script) in the URL.
const clusterPolicy = `
kumo.on('init', function() kumo.configure_log_hook { name = 'wh', meta = { 'q' } } end)
kumo.on('should_enqueue_log_record', function(msg)
  msg:set_meta('queue', msg:get_meta('q'))
  return true
end)
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { retry_interval = '1s', max_retry_interval = '1s', reap_interval = '5m',
    protocol = { custom_lua = { constructor = 'make.webhook' } } }
end)
kumo.on('make.webhook', function()
  local client = kumo.http.build_client {}
  return {
    send = function(self, msg)
      local resp = client:post('WEBHOOK?m=' .. kumo.member()):body(msg:get_data()):send()
      if resp:status_code() ~= 200 then kumo.reject(400, 'retry') end
      return 'ok'
    end,
    close = function() client:close() end,
  }
end)
`

// clusterSink is the webhook of the cluster tests: it records which member POSTed which record of
// which queue, and answers 500 to the members in fail.
type clusterSink struct {
	*httptest.Server
	mu    sync.Mutex
	posts []clusterPost
	fail  map[string]bool
}

type clusterPost struct{ member, queue, id string }

func newClusterSink(t *testing.T) *clusterSink {
	s := &clusterSink{fail: map[string]bool{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec struct {
			ID   string                     `json:"id"`
			Meta map[string]json.RawMessage `json:"meta"`
		}
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &rec)
		var q string
		_ = json.Unmarshal(rec.Meta["q"], &q)
		m := r.URL.Query().Get("m")
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.fail[m] {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		s.posts = append(s.posts, clusterPost{member: m, queue: q, id: rec.ID})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *clusterSink) setFail(member string, fail bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[member] = fail
}

// of returns the POSTs of queue q.
func (s *clusterSink) of(q string) []clusterPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []clusterPost
	for _, p := range s.posts {
		if p.queue == q {
			out = append(out, p)
		}
	}
	return out
}

func loopbackAddr(t *testing.T) string { return loopback.TestAddr(t) }

// clusterEngine makes the engine of member id (not started), listening at addr with peers.
func clusterEngine(t *testing.T, id, addr string, peers []string, webhook string) *Engine {
	t.Helper()
	e, err := New(Config{PolicySource: []byte(strings.ReplaceAll(clusterPolicy, "WEBHOOK", webhook)), InMemory: true,
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Functions: map[string]Func{"member": func(...any) (any, error) { return id, nil }},
		Cluster: &ClusterConfig{ID: id, Listen: addr, Peers: peers, Heartbeat: 50 * time.Millisecond,
			DeadAfter: 2 * time.Second, JoinTimeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		_ = e.Stop(ctx)
	})
	return e
}

// startCluster starts members with the given IDs, all at once (each Start waits for the others),
// and waits until every one sees all of them.
func startCluster(t *testing.T, webhook string, ids ...string) []*Engine {
	t.Helper()
	addrs := make([]string, len(ids))
	for i := range ids {
		addrs[i] = loopbackAddr(t)
	}
	es := make([]*Engine, len(ids))
	for i, id := range ids {
		es[i] = clusterEngine(t, id, addrs[i], addrs, webhook)
	}
	errs := make(chan error, len(es))
	for _, e := range es {
		go func() { errs <- e.Start(context.Background()) }()
	}
	for range es {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range es {
		waitMembers(t, e, len(ids))
	}
	return es
}

// waitMembers waits until e's view holds n members and its barrier is complete.
func waitMembers(t *testing.T, e *Engine, n int) {
	t.Helper()
	until(t, fmt.Sprintf("%s sees %d members", e.cfg.Cluster.ID, n), func() bool {
		st, ok := e.ClusterStatus(context.Background())
		return ok && len(st.Members) == n && len(st.PendingRelease) == 0
	})
}

// until polls cond (the state it waits for comes from other goroutines and members).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// queueOwnedBy is a queue name that the members ids give to owner.
func queueOwnedBy(t *testing.T, owner string, ids ...string) string {
	t.Helper()
	for i := range 200 {
		if q := fmt.Sprintf("q%d", i); ownership.Owner(q, ids) == owner {
			return q
		}
	}
	t.Fatalf("no queue for %s", owner)
	return ""
}

// logTo offers n records of queue q to e.
func logTo(t *testing.T, e *Engine, q string, from, n int) {
	t.Helper()
	recs := make([]*message.LogRecord, n)
	for i := range recs {
		recs[i] = &message.LogRecord{Type: message.Delivery, ID: fmt.Sprintf("%s-%d", q, from+i), Sender: "s@example.com",
			Recipient: message.Recipients{"r@example.net"}, Response: message.Response{Code: 250, Content: "ok"},
			Meta: map[string]json.RawMessage{"q": json.RawMessage(`"` + q + `"`)}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Log(ctx, recs...); err != nil {
		t.Fatal(err)
	}
}

func localQueue(e *Engine, name string) (QueueStats, bool) {
	for _, q := range e.Queues(context.Background()) {
		if q.Name == name {
			return q, true
		}
	}
	return QueueStats{}, false
}

func listed(e *Engine, kind admin.Kind, id string) (admin.Entry, bool) {
	list, _ := e.AdminList(kind)
	for _, x := range list {
		if x.ID == id {
			return x, true
		}
	}
	return admin.Entry{}, false
}

// A suspension added on one member holds a queue another member owns: its owner makes no POST
// while it lasts and shows the queue suspended; a cancellation on a third member, by the same ID,
// lets the queue deliver again.
func TestClusterSuspendOnAnyMember(t *testing.T) {
	sink := newClusterSink(t)
	es := startCluster(t, sink.URL, "a", "b", "c")
	a, b, c := es[0], es[1], es[2]
	q := queueOwnedBy(t, "b", "a", "b", "c")
	entry, err := a.AdminSuspend(admin.SuspendRequest{Criteria: admin.Criteria{QueueNames: []string{q}},
		Reason: "maintenance", Expires: a.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*Engine{b, c} {
		until(t, "the suspension reaches "+e.cfg.Cluster.ID, func() bool {
			got, ok := listed(e, admin.Suspend, entry.ID)
			return ok && got.Expires.Equal(entry.Expires) && got.Reason == "maintenance"
		})
	}
	logTo(t, a, q, 0, 5) // forwarded to b
	logTo(t, b, q, 5, 5)
	until(t, "b holds the 10 messages, each failed once by the suspension", func() bool {
		st, ok := localQueue(b, q)
		return ok && st.Suspended == "maintenance" && st.Scheduled+st.Ready == 10 && st.Transient >= 10
	})
	if posts := sink.of(q); len(posts) != 0 {
		t.Fatalf("%d POSTs of the suspended queue %s: %v", len(posts), q, posts)
	}
	report := c.ClusterQueues(context.Background(), false)
	found := false
	for _, oq := range report.Queues {
		if oq.Name == q {
			found = oq.Owner == "b" && oq.Suspended == "maintenance"
		}
	}
	if !found || len(report.Silent) != 0 {
		t.Fatalf("c's report does not show %s suspended at b: %+v", q, report)
	}

	ok, err := c.AdminCancel(entry.ID)
	if err != nil || !ok {
		t.Fatalf("cancel on c: %v %v", ok, err)
	}
	until(t, "the 10 records delivered by b", func() bool { return len(sink.of(q)) >= 10 })
	for _, p := range sink.of(q) {
		if p.member != "b" {
			t.Errorf("%s delivered by %s, its owner is b", p.id, p.member)
		}
	}
	for _, e := range es {
		until(t, "the suspension ends on "+e.cfg.Cluster.ID, func() bool {
			_, ok := listed(e, admin.Suspend, entry.ID)
			return !ok
		})
	}
	if ok, _ := b.AdminCancel(entry.ID); ok {
		t.Fatal("a second cancel, on b, found the suspension again")
	}
}

// A bounce added on one member bounces the messages another member holds in a queue it owns, and
// that member counts them.
func TestClusterBounceOnAnyMember(t *testing.T) {
	sink := newClusterSink(t)
	sink.setFail("a", true) // a's attempts fail: its messages stay queued there
	es := startCluster(t, sink.URL, "a", "b")
	a, b := es[0], es[1]
	q := queueOwnedBy(t, "a", "a", "b")
	logTo(t, a, q, 0, 4)
	until(t, "a holds 4 messages that failed", func() bool {
		st, ok := localQueue(a, q)
		return ok && st.Transient >= 4 && a.Stats().Queued == 4
	})
	entry, err := b.AdminBounce(admin.BounceRequest{Criteria: admin.Criteria{QueueNames: []string{q}},
		Reason: "cleanup", Expires: b.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	until(t, "a bounced its 4 messages", func() bool { return a.Stats().Bounced == 4 && a.Stats().Queued == 0 })
	got, ok := listed(a, admin.Bounce, entry.ID)
	if !ok || got.Counts[q] != 4 {
		t.Fatalf("a lists the bounce as %+v (%v), want 4 bounced from %s", got, ok, q)
	}
	if len(sink.of(q)) != 0 {
		t.Fatalf("POSTs of %s arrived: %v", q, sink.of(q))
	}
}

// A member that joins after a rule was added gets it, with its ID and expiry, and can cancel it
// everywhere.
func TestClusterRuleReachesALateMember(t *testing.T) {
	sink := newClusterSink(t)
	addrs := []string{loopbackAddr(t), loopbackAddr(t), loopbackAddr(t)}
	a := clusterEngine(t, "a", addrs[0], addrs[:2], sink.URL)
	b := clusterEngine(t, "b", addrs[1], addrs[:2], sink.URL)
	errs := make(chan error, 2)
	for _, e := range []*Engine{a, b} {
		go func() { errs <- e.Start(context.Background()) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	entry, err := a.AdminSuspend(admin.SuspendRequest{Criteria: admin.Criteria{Tenant: ptr("acme")}, Reason: "later",
		Expires: a.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	bounce, err := b.AdminBounce(admin.BounceRequest{Criteria: admin.Criteria{Domain: ptr("gone.example")},
		Reason: "gone", Expires: b.Now().Add(time.Hour), SuppressLogging: true})
	if err != nil {
		t.Fatal(err)
	}

	c := clusterEngine(t, "c", addrs[2], addrs[:2], sink.URL)
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	until(t, "c has both rules", func() bool {
		s, ok1 := listed(c, admin.Suspend, entry.ID)
		x, ok2 := listed(c, admin.Bounce, bounce.ID)
		return ok1 && ok2 && s.Expires.Equal(entry.Expires) && *s.Criteria.Tenant == "acme" &&
			x.SuppressLogging && *x.Criteria.Domain == "gone.example" && x.Added.Equal(bounce.Added)
	})
	if ok, err := c.AdminCancel(entry.ID); !ok || err != nil {
		t.Fatalf("cancel on c: %v %v", ok, err)
	}
	for _, e := range []*Engine{a, b} {
		until(t, "the suspension ends on "+e.cfg.Cluster.ID, func() bool {
			_, ok := listed(e, admin.Suspend, entry.ID)
			return !ok
		})
	}
	if _, ok := listed(a, admin.Bounce, bounce.ID); !ok {
		t.Fatal("the bounce went with the suspension")
	}
}

func ptr(s string) *string { return &s }

// GET /api/admin/cluster/v1's figures: every member with its state, owned queues and queued
// messages; the cluster metrics appear on a member only.
func TestClusterStatusAndMetrics(t *testing.T) {
	sink := newClusterSink(t)
	sink.setFail("a", true)
	sink.setFail("b", true) // nothing leaves: the figures hold still
	es := startCluster(t, sink.URL, "a", "b")
	a, b := es[0], es[1]
	qa, qb := queueOwnedBy(t, "a", "a", "b"), queueOwnedBy(t, "b", "a", "b")
	logTo(t, a, qa, 0, 2)
	logTo(t, a, qb, 2, 3) // forwarded to b
	until(t, "b holds a's 3 messages", func() bool { return b.Stats().Queued == 3 && a.Stats().Queued == 2 })
	st, ok := a.ClusterStatus(context.Background())
	if !ok || st.Self != "a" || st.Epoch == 0 || st.View == 0 || len(st.Members) != 2 {
		t.Fatalf("a's status %+v, %v", st, ok)
	}
	want := map[string]ClusterMember{"a": {State: "self", OwnedQueues: 1, Queued: 2},
		"b": {State: "live", OwnedQueues: 1, Queued: 3}}
	for _, m := range st.Members {
		w := want[m.ID]
		if m.State != w.State || m.OwnedQueues != w.OwnedQueues || m.Queued != w.Queued || m.Address == "" ||
			m.Incarnation == 0 || m.Error != "" {
			t.Errorf("member %+v, want %+v", m, w)
		}
	}
	report := a.ClusterQueues(context.Background(), true)
	owners := map[string]string{}
	for _, q := range report.Queues {
		owners[q.Name] = q.Owner
	}
	if owners[qa] != "a" || owners[qb] != "b" || len(owners) != 2 {
		t.Fatalf("a's report of the queues: %+v", report.Queues)
	}

	rec := httptest.NewRecorder()
	a.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := rec.Body.String()
	for _, line := range []string{"hookd_cluster_members 2", "hookd_cluster_owned_queues 1",
		`hookd_cluster_handover_messages_total{direction="out"} 3`, `hookd_cluster_handover_messages_total{direction="in"} 0`,
		"hookd_cluster_forwarded_records_total 3"} {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("a's metrics lack %q", line)
		}
	}
	if !strings.Contains(text, "\nhookd_cluster_handover_bytes_total ") || strings.Contains(text, "\nhookd_cluster_handover_bytes_total 0\n") {
		t.Error("a's metrics count no handover bytes")
	}
	rec = httptest.NewRecorder()
	b.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if text := rec.Body.String(); !strings.Contains(text, "\n"+`hookd_cluster_handover_messages_total{direction="in"} 3`+"\n") {
		t.Error("b's metrics do not count the 3 messages handed in")
	}
}
