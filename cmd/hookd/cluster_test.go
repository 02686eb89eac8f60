package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/sink"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/ownership"

	"github.com/hookd/hookd/internal/loopback"
)

// clusterPolicy queues each record by tenant and names the delivering member in a header.
const clusterPolicy = "testdata/cluster.lua"

// clusterMember is one `hookd run` process of a test cluster.
type clusterMember struct {
	id, listen, spool string
	env               []string
	node              *child
}

// testDeadAfter is the members' --cluster-dead-after: short, for quick takeovers, but above the
// one transport stall hollywood v1.0.5 can still cause (membership/node.go: a message that reaches
// the remote's router just after it dropped a dead member's connection makes it dial that member
// inside its receive loop, 0+1+2 s of retries during which nothing reaches any member). Under 3 s,
// the survivors could declare each other dead after such a stall; the test below would fail then.
const testDeadAfter = 4 * time.Second

// clusterFlagsFor are the flags that make m a member of the cluster of all.
func clusterFlagsFor(m *clusterMember, all []*clusterMember) []string {
	var peers []string
	for _, o := range all {
		if o != m {
			peers = append(peers, o.listen)
		}
	}
	return []string{"--cluster-listen", m.listen, "--cluster-id", m.id, "--cluster-peers", strings.Join(peers, ","),
		"--cluster-heartbeat", "200ms", "--cluster-dead-after", testDeadAfter.String(), "--cluster-join-timeout", "10s",
		"--log-level", "info"} // a failing test prints each member's log
}

func loopbackAddr(t *testing.T) string { return loopback.TestAddr(t) }

// startCluster starts n members (m1, m2, ...) with the cluster policy posting to url, all at once
// (each waits for the others at start), and waits until each listens.
func startCluster(t *testing.T, n int, url string, env ...string) []*clusterMember {
	t.Helper()
	all := make([]*clusterMember, n)
	for i := range all {
		id := fmt.Sprintf("m%d", i+1)
		all[i] = &clusterMember{id: id, listen: loopbackAddr(t), spool: filepath.Join(t.TempDir(), "spool"),
			env: append([]string{"HOOKD_TEST_WEBHOOK=" + url, "HOOKD_TEST_MEMBER=" + id}, env...)}
	}
	for _, m := range all {
		m.node = spawnNode(t, m.spool, clusterPolicy, clusterFlagsFor(m, all), m.env...)
	}
	for _, m := range all {
		m.node.waitListening(t)
	}
	return all
}

// restart starts m again on its spool, address and ID, and waits until it listens.
func (m *clusterMember) restart(t *testing.T, all []*clusterMember) {
	t.Helper()
	m.node = startNodeWith(t, m.spool, clusterPolicy, clusterFlagsFor(m, all), m.env...)
}

func memberIDs(all []*clusterMember) []string {
	ids := make([]string, len(all))
	for i, m := range all {
		ids[i] = m.id
	}
	return ids
}

// tenantEvents are mixedEvents spread over twelve tenants, so over twelve queues.
func tenantEvents(first, n int) []testRecord {
	recs := mixedEvents(first, n)
	for i := range recs {
		recs[i].Meta["tenant"] = fmt.Sprintf("tenant-%d", (first+i)%12)
	}
	return recs
}

// arrival is one record at the receiver: its key, queue (tenant), the member that POSTed it, when.
type arrival struct {
	key, queue, member string
	at                 time.Time
}

func arrivals(t *testing.T, recv *sink.Sink) []arrival {
	t.Helper()
	var out []arrival
	for _, got := range recv.Received() {
		rec, err := message.DecodeRecord(got.Raw)
		if err != nil {
			t.Fatalf("the webhook got %q: %v", got.Raw, err)
		}
		var tenant string
		if raw, ok := rec.Meta["tenant"]; ok {
			tenant = strings.Trim(string(raw), `"`)
		}
		out = append(out, arrival{key: string(rec.Type) + "/" + rec.ID, queue: tenant,
			member: got.Header.Get("X-Hookd-Member"), at: got.At})
	}
	return out
}

// checkOwners fails unless every queue's records were POSTed by one member, its owner among ids.
func checkOwners(t *testing.T, as []arrival, ids []string) map[string]int {
	t.Helper()
	byMember := map[string]int{}
	for _, a := range as {
		byMember[a.member]++
		if want := ownership.Owner(a.queue, ids); a.member != want {
			t.Errorf("%s of queue %s was POSTed by %q; the queue's owner is %s", a.key, a.queue, a.member, want)
		}
	}
	return byMember
}

func TestClusterOfThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hookd processes")
	}
	recv, url := webhook(t, nil)
	all := startCluster(t, 3, url)
	var sent []testRecord
	for i := range 12 {
		recs := tenantEvents(i*50, 50)
		postRecords(t, all[i%3].node, "array", recs)
		sent = append(sent, recs...)
	}
	waitUnique(t, recv, len(sent))
	checkArrivals(t, recv, sent)
	byMember := checkOwners(t, arrivals(t, recv), memberIDs(all))
	t.Logf("%d records posted to three members, each delivered once by its queue's owner: %v", len(sent), byMember)
	if len(byMember) != 3 {
		t.Errorf("POSTs came from %d members, want all three to own queues: %v", len(byMember), byMember)
	}
	for _, m := range all {
		if code := m.node.terminate(t); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", m.id, code)
		}
	}
}

// A member killed with SIGKILL during intake and delivery, restarted later: no acknowledged record is
// lost, its queues are delivered by the survivors within 5 s of its death, and what its spool held
// is delivered after it returns.
func TestClusterMemberKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hookd processes")
	}
	recv, url := webhook(t, slowly(5*time.Millisecond))
	all := startCluster(t, 3, url)
	ids := memberIDs(all)
	gens, stops := loadAll(all)
	dead := all[2]
	waitFor(t, "records delivered from every member", func() bool { return len(checkOwnersQuiet(arrivals(t, recv), ids)) == 3 })
	dead.node.kill(t)
	killed := time.Now()
	stops[2]()
	time.Sleep(testDeadAfter + 3*time.Second) // the survivors take over meanwhile
	stops[0]()
	stops[1]()

	// The dead member's queues, as delivered by the survivors after its death.
	var first time.Time
	for _, a := range arrivals(t, recv) {
		if ownership.Owner(a.queue, ids) == dead.id && a.member != dead.id && a.at.After(killed) &&
			(first.IsZero() || a.at.Before(first)) {
			first = a.at
		}
	}
	if first.IsZero() {
		t.Fatalf("no record of %s's queues was delivered by a survivor within %v of its death", dead.id,
			testDeadAfter+3*time.Second)
	}
	t.Logf("%s's queues: first delivery by a survivor %v after its SIGKILL", dead.id, first.Sub(killed).Round(time.Millisecond))
	if d, bound := first.Sub(killed), testDeadAfter+3*time.Second; d > bound {
		t.Errorf("the survivors took %v to deliver the dead member's queues, want under %v", d, bound)
	}

	// The survivors declared only the killed member dead: a stalled transport would have made them
	// declare each other dead too, and then deliver each other's queues.
	for _, m := range all[:2] {
		for _, line := range strings.Split(m.node.stderr.String(), "\n") {
			if strings.Contains(line, "declared dead") && !strings.Contains(line, "dead="+dead.id) {
				t.Errorf("%s: %s", m.id, line)
			}
		}
	}
	restarted := time.Now()
	dead.restart(t, all)
	t.Logf("%s listening again %v after its restart", dead.id, time.Since(restarted).Round(time.Millisecond))
	acked, posted := loadResults(gens)
	waitAcked(t, recv, acked, 30*time.Second)
	t.Logf("every acknowledged record arrived %v after the restart", time.Since(restarted).Round(time.Millisecond))
	f := checkAcked(t, recv, acked, posted)
	t.Logf("one of three members killed under load and restarted: %s", f)
	for _, m := range all {
		if code := m.node.terminate(t); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", m.id, code)
		}
	}
}

// checkOwnersQuiet counts arrivals by member without judging them.
func checkOwnersQuiet(as []arrival, _ []string) map[string]int {
	out := map[string]int{}
	for _, a := range as {
		out[a.member]++
	}
	return out
}

// A graceful stop under load hands the member's queues and messages over before it exits: nothing
// is lost, nothing arrives twice, and the member's messages arrive without it coming back.
func TestClusterGracefulStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hookd processes")
	}
	recv, url := webhook(t, slowly(5*time.Millisecond))
	all := startCluster(t, 3, url)
	ids := memberIDs(all)
	gens, stops := loadAll(all)
	waitFor(t, "records delivered from every member", func() bool { return len(checkOwnersQuiet(arrivals(t, recv), ids)) == 3 })
	leaving := all[2]
	stops[2]()
	if code := leaving.node.terminate(t); code != 0 {
		t.Fatalf("%s exited %d after SIGTERM", leaving.id, code)
	}
	time.Sleep(500 * time.Millisecond)
	stops[0]()
	stops[1]()
	acked, posted := loadResults(gens)
	waitAcked(t, recv, acked, 30*time.Second)
	f := checkAcked(t, recv, acked, posted)
	t.Logf("one of three members stopped with SIGTERM under load: %s", f)
	if f.duplicates != 0 {
		t.Errorf("%d records arrived twice across a graceful stop", f.duplicates)
	}
	for _, m := range all[:2] {
		if code := m.node.terminate(t); code != 0 {
			t.Errorf("%s exited %d after SIGTERM", m.id, code)
		}
	}
}

// A destination with connection_limit = 2 sees at most two connections from the whole cluster.
func TestClusterConnectionLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three hookd processes")
	}
	var inflight, most atomic.Int64
	count := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inflight.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			next.ServeHTTP(w, r)
			inflight.Add(-1)
		})
	}
	recv, url := webhook(t, count)
	all := startCluster(t, 3, url, "HOOKD_TEST_CONNECTIONS=2")
	var sent []testRecord
	var wg sync.WaitGroup
	for i := range 6 {
		recs := tenantEvents(i*40, 40)
		for j := range recs {
			recs[j].Meta["tenant"] = "tenant-one" // one queue, one destination
		}
		sent = append(sent, recs...)
		wg.Add(1)
		go func(m *clusterMember) {
			defer wg.Done()
			postRecords(t, m.node, "array", recs)
		}(all[i%3])
	}
	wg.Wait()
	waitUnique(t, recv, len(sent))
	checkArrivals(t, recv, sent)
	t.Logf("%d records to one destination through three members: at most %d connections at once", len(sent), most.Load())
	if n := most.Load(); n > 2 {
		t.Errorf("%d POSTs in flight at once; the destination's connection_limit is 2", n)
	} else if n < 2 {
		t.Errorf("at most %d POST in flight: the test did not load the destination enough to prove the limit", n)
	}
}

// slowly delays every webhook request by d.
func slowly(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(d)
			next.ServeHTTP(w, r)
		})
	}
}

// waitUnique waits until recv holds n distinct records.
func waitUnique(t *testing.T, recv *sink.Sink, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), deliveryTimeout)
	defer cancel()
	if err := recv.WaitFor(ctx, uint64(n)); err != nil {
		t.Fatalf("%d of %d records arrived: %v", recv.Stats().Unique, n, err)
	}
}

// loadAll posts records to every member continuously, each from its own range of numbers.
func loadAll(all []*clusterMember) (gens []*loadGen, stops []func()) {
	for i, m := range all {
		g := newLoadGen(i*1_000_000, 12, 10*time.Millisecond, tenantEvents)
		gens, stops = append(gens, g), append(stops, g.start(m.node))
	}
	return gens, stops
}

// loadResults are the records acknowledged and sent by all of gens.
func loadResults(gens []*loadGen) (acked, posted []testRecord) {
	for _, g := range gens {
		a, p, _ := g.results()
		acked, posted = append(acked, a...), append(posted, p...)
	}
	return acked, posted
}
