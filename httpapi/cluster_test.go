package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/engine"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/ownership"

	testnet "github.com/hookd/hookd/internal/loopback"
)

// clusterPolicy queues each record in the queue its meta "q" names; every POST is refused, so
// what the members hold stays where it is.
const clusterPolicy = `
kumo.on('init', function() kumo.configure_log_hook { name = 'wh', meta = { 'q' } } end)
kumo.on('should_enqueue_log_record', function(msg) msg:set_meta('queue', msg:get_meta('q')) return true end)
kumo.on('get_queue_config', function(domain)
  return kumo.make_queue_config { retry_interval = '1h', protocol = { custom_lua = { constructor = 'make.busy' } } }
end)
kumo.on('make.busy', function() return { send = function() kumo.reject(451, 'busy') end } end)
`

// apiMember is a cluster member with its HTTP API.
type apiMember struct {
	id  string
	eng *engine.Engine
	srv *httptest.Server
}

func (m *apiMember) get(t *testing.T, path, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, m.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func loopback(t *testing.T) string { return testnet.TestAddr(t) }

// startAPICluster starts one member per id, all at once, each with its API (admin token "tok").
func startAPICluster(t *testing.T, ids ...string) []*apiMember {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	addrs := make([]string, len(ids))
	for i := range ids {
		addrs[i] = loopback(t)
	}
	ms := make([]*apiMember, len(ids))
	errs := make(chan error, len(ids))
	for i, id := range ids {
		eng, err := engine.New(engine.Config{PolicySource: []byte(clusterPolicy), InMemory: true, Logger: quiet,
			Cluster: &engine.ClusterConfig{ID: id, Listen: addrs[i], Peers: addrs, Heartbeat: 50 * time.Millisecond,
				DeadAfter: 2 * time.Second, JoinTimeout: 10 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			_ = eng.Stop(ctx)
		})
		srv := httptest.NewServer(httpapi.New(eng, httpapi.Options{Logger: quiet, AdminToken: "tok"}))
		t.Cleanup(srv.Close)
		ms[i] = &apiMember{id: id, eng: eng, srv: srv}
		go func() { errs <- eng.Start(context.Background()) }()
	}
	for range ids {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	return ms
}

func logQueue(t *testing.T, e *engine.Engine, q string, n int) {
	t.Helper()
	for i := range n {
		rec := &message.LogRecord{Type: message.Delivery, ID: fmt.Sprintf("%s-%d", q, i), Sender: "s@example.com",
			Recipient: message.Recipients{"r@example.net"}, Meta: map[string]json.RawMessage{"q": json.RawMessage(`"` + q + `"`)}}
		if err := e.Log(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

type clusterAnswer struct {
	Self    string `json:"self"`
	Epoch   uint64 `json:"epoch"`
	View    uint64 `json:"view"`
	Members []struct {
		ID          string `json:"id"`
		Address     string `json:"address"`
		Incarnation uint64 `json:"incarnation"`
		State       string `json:"state"`
		OwnedQueues int    `json:"owned_queues"`
		Queued      int64  `json:"queued_messages"`
		Error       string `json:"error"`
	} `json:"members"`
	Pending []string `json:"pending_release"`
}

// On any member, GET /api/admin/queues/v1 lists every member's queues with their owner and GET
// /api/admin/cluster/v1 every member with its state and figures; both need the admin token; the
// cluster's metrics are in /metrics.
func TestClusterAdminEndpoints(t *testing.T) {
	ms := startAPICluster(t, "a", "b")
	a, b := ms[0], ms[1]
	ids := []string{"a", "b"}
	var qa, qb string
	for i := 0; qa == "" || qb == ""; i++ {
		q := fmt.Sprintf("q%d", i)
		if ownership.Owner(q, ids) == "a" && qa == "" {
			qa = q
		} else if ownership.Owner(q, ids) == "b" && qb == "" {
			qb = q
		}
	}
	logQueue(t, a.eng, qa, 2)
	logQueue(t, a.eng, qb, 3) // handed to b
	var st clusterAnswer
	waitFor(t, "b's answer shows what each member holds", func() bool {
		code, body := b.get(t, "/api/admin/cluster/v1", "tok")
		st = clusterAnswer{}
		if code != 200 || json.Unmarshal([]byte(body), &st) != nil || len(st.Members) != 2 || len(st.Pending) != 0 {
			return false
		}
		return st.Members[0].Queued == 2 && st.Members[1].Queued == 3
	})
	if st.Self != "b" || st.Epoch == 0 || st.View == 0 {
		t.Fatalf("b's cluster answer %+v", st)
	}
	for i, want := range []struct{ id, state string }{{"a", "live"}, {"b", "self"}} {
		m := st.Members[i]
		if m.ID != want.id || m.State != want.state || m.OwnedQueues != 1 || m.Address == "" || m.Incarnation == 0 ||
			m.Error != "" {
			t.Errorf("member %d: %+v, want %s %s owning 1 queue", i, m, want.id, want.state)
		}
	}

	code, body := a.get(t, "/api/admin/queues/v1", "tok")
	var queues struct {
		Queues []struct {
			Name      string `json:"name"`
			Owner     string `json:"owner"`
			Scheduled int    `json:"scheduled"`
			Attempts  map[string]int
		} `json:"queues"`
		Breakers []json.RawMessage `json:"breakers"`
	}
	if err := json.Unmarshal([]byte(body), &queues); code != 200 || err != nil {
		t.Fatalf("GET queues on a: %d %s (%v)", code, body, err)
	}
	owners := map[string]string{}
	for _, q := range queues.Queues {
		owners[q.Name] = q.Owner
	}
	if len(owners) != 2 || owners[qa] != "a" || owners[qb] != "b" || strings.Contains(body, `"silent"`) {
		t.Fatalf("GET queues on a: %s; want %s owned by a and %s by b", body, qa, qb)
	}

	for _, path := range []string{"/api/admin/cluster/v1", "/api/admin/queues/v1"} {
		if code, _ := a.get(t, path, ""); code != 401 {
			t.Errorf("GET %s without the token: %d, want 401", path, code)
		}
	}
	_, metrics := a.get(t, "/metrics", "")
	for _, line := range []string{"hookd_cluster_members 2", "hookd_cluster_owned_queues 1",
		`hookd_cluster_handover_messages_total{direction="out"} 3`, "hookd_cluster_forwarded_records_total 3"} {
		if !strings.Contains(metrics, "\n"+line+"\n") {
			t.Errorf("a's /metrics lacks %q", line)
		}
	}
}

// A single node has no cluster to describe: 404 with a one-line JSON error; its queues carry no
// owner, and its metrics no cluster figures.
func TestClusterEndpointsOnASingleNode(t *testing.T) {
	a := newAdminRig(t, "")
	a.inject(t, "acme", 1)
	a.waitRecords(t, 1)
	code, body := a.do(t, "GET", "/api/admin/cluster/v1", "", "")
	var e map[string]string
	if code != 404 || json.Unmarshal([]byte(body), &e) != nil || len(e) != 1 || e["error"] == "" ||
		strings.Count(body, "\n") != 1 {
		t.Fatalf("GET cluster on a single node: %d %q", code, body)
	}
	code, body = a.do(t, "GET", "/api/admin/queues/v1", "", "")
	if code != 200 || strings.Contains(body, `"owner"`) || strings.Contains(body, `"member"`) ||
		strings.Contains(body, `"silent"`) || !strings.Contains(body, `"queues":[`) {
		t.Fatalf("GET queues on a single node: %d %s", code, body)
	}
	code, body = a.do(t, "GET", "/metrics", "", "")
	if code != 200 || strings.Contains(body, "hookd_cluster_") {
		t.Fatalf("a single node's metrics: %d, cluster figures present: %v", code, strings.Contains(body, "hookd_cluster_"))
	}
}
