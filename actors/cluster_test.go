package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anthdm/hollywood/remote"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/membership"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/ownership"
	"github.com/hookd/hookd/persistence"

	"github.com/hookd/hookd/internal/loopback"
)

// memberSink is a webhook that records, for each POST, which member sent it (the URL's m
// parameter, which each member's policy sets) and the record's id.
type memberSink struct {
	*httptest.Server
	mu       sync.Mutex
	posts    []memberPost
	hold     chan struct{} // when set, each POST waits until it is closed
	inflight map[string]int
	maxIn    map[string]int  // the most POSTs of a queue in flight at once
	fail     map[string]bool // members whose POSTs are answered 500
}

type memberPost struct {
	member, queue, id string
}

func newMemberSink(t *testing.T) *memberSink {
	s := &memberSink{inflight: map[string]int{}, maxIn: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var rec struct {
			ID   string                     `json:"id"`
			Meta map[string]json.RawMessage `json:"meta"`
		}
		_ = json.Unmarshal(body, &rec)
		var q string
		_ = json.Unmarshal(rec.Meta["q"], &q)
		s.mu.Lock()
		s.inflight[q]++
		s.maxIn[q] = max(s.maxIn[q], s.inflight[q])
		hold := s.hold
		s.mu.Unlock()
		if hold != nil {
			<-hold
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.inflight[q]--
		if s.fail[r.URL.Query().Get("m")] {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		s.posts = append(s.posts, memberPost{member: r.URL.Query().Get("m"), queue: q, id: rec.ID})
	}))
	t.Cleanup(func() {
		s.release()
		s.Close()
	})
	return s
}

func (s *memberSink) holdPosts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = make(chan struct{})
}

func (s *memberSink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
}

func (s *memberSink) inFlight(q string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight[q]
}

func (s *memberSink) snapshot() []memberPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]memberPost(nil), s.posts...)
}

// member is one System of an in-process cluster, with its own remote on loopback.
type member struct {
	id     string
	inc    uint64
	addr   string
	sys    *System
	spool  *persistence.Memory
	peers  *[]*member // every member of the test, for releases
	limits Limits
}

func freeAddr(t *testing.T) string { return loopback.TestAddr(t) }

// startMembers starts n members (ids a, b, c, ...) with queuesPolicy posting to url?m=<id>, and
// applies the membership of all of them, with releases delivered between them directly.
func startMembers(t *testing.T, n int, url string) []*member {
	t.Helper()
	ms := newMembers(t, n, url)
	applyAll(ms, ms)
	return ms
}

// newMembers starts n members that have no membership yet.
func newMembers(t *testing.T, n int, url string) []*member {
	t.Helper()
	ms := make([]*member, n)
	for i := range ms {
		ms[i] = &member{id: string(rune('a' + i)), inc: 1, spool: persistence.NewMemory(), peers: &ms}
		ms[i].start(t, url)
	}
	return ms
}

// start runs the member's System on its spool, on a new remote address.
func (m *member) start(t *testing.T, url string) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m.addr = freeAddr(t)
	e, r, err := membership.NewEngine(m.addr, remote.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	opts := lua.Options{Logger: log}
	opts.HTTP.ParseDuration = message.ParseDuration
	p, err := lua.LoadSource("policy.lua", []byte(strings.ReplaceAll(queuesPolicy, "WEBHOOK", url+"?m="+m.id)), opts)
	if err != nil {
		t.Fatal(err)
	}
	id, peers := m.id, m.peers
	sys, err := Start(Options{Policy: p, Spool: m.spool, Clock: clock.Real, Logger: log, NodeID: m.id, Limits: m.limits,
		IDs: message.NewIDGen([6]byte{m.id[0], byte(m.inc), 0, 0, 0, 1}),
		Cluster: &ClusterOptions{Self: ownership.Member{ID: m.id, Incarnation: m.inc}, Engine: e,
			Release: func(view uint64) {
				for _, o := range *peers {
					if o != nil && o.id != id && o.sys != nil {
						o.sys.PeerReleased(id, view)
					}
				}
			}}})
	if err != nil {
		t.Fatal(err)
	}
	m.sys = sys
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sys.Stop(ctx)
		r.Stop()
	})
}

// stop stops the member's System (its spool keeps what it held).
func (m *member) stop(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.sys.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// applyAll gives each member of to the membership of live.
func applyAll(to, live []*member) {
	view := make([]Member, len(live))
	for i, m := range live {
		view[i] = Member{ID: m.id, Addr: m.addr, Incarnation: m.inc}
	}
	for _, m := range to {
		m.sys.ApplyMembers(view)
	}
}

func logQueued(t *testing.T, m *member, from, n int, queues ...string) {
	t.Helper()
	recs := make([]Record, 0, n)
	for i := from; i < from+n; i++ {
		recs = append(recs, ExternalRecord(*queued(queues[i%len(queues)], i)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.sys.Log(ctx, recs); err != nil {
		t.Fatal(err)
	}
}

func TestClusterDeliversEachQueueFromItsOwner(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 3, sink.URL)
	queues := []string{"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"}
	ids := []string{"a", "b", "c"}
	for i, m := range ms {
		logQueued(t, m, i*40, 40, queues...)
	}
	eventually(t, "all 120 records delivered", func() bool { return len(sink.snapshot()) >= 120 })
	time.Sleep(50 * time.Millisecond) // a duplicate would arrive by now
	posts := sink.snapshot()
	if len(posts) != 120 {
		t.Fatalf("%d POSTs for 120 records", len(posts))
	}
	seen := map[string]int{}
	for _, p := range posts {
		seen[p.id]++
		if want := ownership.Owner(p.queue, ids); p.member != want {
			t.Errorf("queue %s delivered by %s, its owner is %s", p.queue, p.member, want)
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %s delivered %d times", id, n)
		}
	}
	var forwarded uint64
	for _, m := range ms {
		forwarded += m.sys.metrics.Forwarded.Load()
		if q := m.sys.metrics.Queued.Load(); q != 0 {
			t.Errorf("member %s still counts %d queued", m.id, q)
		}
	}
	t.Logf("120 records, %d forwarded to their owner", forwarded)
	if forwarded == 0 {
		t.Error("no message was forwarded: every record was logged at its owner?")
	}
}

// checkOnce fails unless every id of want was delivered exactly once.
func checkOnce(t *testing.T, posts []memberPost, want int) {
	t.Helper()
	seen := map[string]int{}
	for _, p := range posts {
		seen[p.id]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("record %s delivered %d times", id, n)
		}
	}
	if len(seen) != want {
		t.Errorf("%d distinct records delivered, want %d", len(seen), want)
	}
}

// ownedBy returns a queue name among candidates q0..q99 that ids give to owner.
func ownedBy(t *testing.T, owner string, ids ...string) string {
	t.Helper()
	for i := range 100 {
		q := fmt.Sprintf("q%d", i)
		if ownership.Owner(q, ids) == owner {
			return q
		}
	}
	t.Fatalf("no queue for %s", owner)
	return ""
}

func TestClusterMemberGoneItsQueuesMove(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 3, sink.URL)
	q := ownedBy(t, "c", "a", "b", "c")
	// c dies: a and b apply a membership without it.
	ms[2].stop(t)
	applyAll(ms[:2], ms[:2])
	logQueued(t, ms[0], 0, 10, q)
	logQueued(t, ms[1], 10, 10, q)
	eventually(t, "the 20 records delivered by c's successor", func() bool { return len(sink.snapshot()) >= 20 })
	posts := sink.snapshot()
	checkOnce(t, posts, 20)
	want := ownership.Owner(q, []string{"a", "b"})
	for _, p := range posts {
		if p.member != want {
			t.Errorf("queue %s delivered by %s after c left, want %s", q, p.member, want)
		}
	}
}

// A membership change while the owner is in the middle of a delivery: the queue's new owner starts
// no session until the old one has finished its batch and released the new membership; the old
// owner hands over what it still holds; nothing is delivered twice or by two members at once.
func TestClusterMoveDuringDelivery(t *testing.T) {
	sink := newMemberSink(t)
	ms := newMembers(t, 3, sink.URL)
	two := ms[:2]
	applyAll(two, two) // c has not joined yet: a and b own everything
	q := ""
	for i := range 200 { // a queue a owns now and c will own once it joins
		name := fmt.Sprintf("q%d", i)
		if ownership.Owner(name, []string{"a", "b"}) == "a" && ownership.Owner(name, []string{"a", "b", "c"}) == "c" {
			q = name
			break
		}
	}
	if q == "" {
		t.Fatal("no queue moves from a to c")
	}
	sink.holdPosts()
	logQueued(t, ms[0], 0, 30, q)
	eventually(t, "a's first POST is in flight", func() bool { return sink.inFlight(q) == 1 })
	applyAll(ms, ms) // c joins
	logQueued(t, ms[1], 30, 10, q)
	time.Sleep(100 * time.Millisecond) // c would have started a session by now if it could
	if n := sink.inFlight(q); n != 1 {
		t.Fatalf("%d POSTs of %s in flight while a's batch is still out, want 1", n, q)
	}
	if ms[2].sys.cluster.MayDeliver(q) {
		t.Fatal("c may deliver before a released the membership")
	}
	sink.release()
	eventually(t, "all 40 records delivered", func() bool { return len(sink.snapshot()) >= 40 })
	time.Sleep(50 * time.Millisecond)
	posts := sink.snapshot()
	checkOnce(t, posts, 40)
	first := posts[0].member
	if first != "a" {
		t.Errorf("the first POST came from %s, want a (its batch was in flight)", first)
	}
	for _, p := range posts[1:] {
		if p.member == "b" {
			t.Errorf("b delivered %s, which it never owned", p.id)
		}
	}
	if sink.maxIn[q] > 1 {
		t.Errorf("%d POSTs of %s in flight at once, its connection_limit is 1", sink.maxIn[q], q)
	}
	eventually(t, "a holds nothing", func() bool { return ms[0].sys.metrics.Queued.Load() == 0 })
}

func TestClusterLeaveHandsEverythingOver(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 2, sink.URL)
	qa := ownedBy(t, "a", "a", "b")
	sink.holdPosts() // a's queue cannot deliver: its messages stay queued at a
	logQueued(t, ms[0], 0, 20, qa)
	eventually(t, "a's first POST is in flight", func() bool { return sink.inFlight(qa) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	left := make(chan error, 1)
	go func() { left <- ms[0].sys.Leave(ctx, nil) }()
	// b learns that a leaves (the membership would tell it).
	applyAll(ms[1:], ms[1:])
	sink.release()
	if err := <-left; err != nil {
		t.Fatal(err)
	}
	if n := ms[0].sys.metrics.Queued.Load(); n != 0 {
		t.Fatalf("a left with %d messages", n)
	}
	eventually(t, "all 20 records delivered", func() bool { return len(sink.snapshot()) >= 20 })
	time.Sleep(50 * time.Millisecond)
	checkOnce(t, sink.snapshot(), 20)
}

// A member comes back after it stopped holding messages of a queue another member now owns: it
// replays its spool and hands them over, attempts and due times kept, and keeps no copy.
func TestClusterReturningMemberHandsOver(t *testing.T) {
	sink := newMemberSink(t)
	sink.fail = map[string]bool{"c": true} // c's attempts fail: its messages stay in its spool
	ms := newMembers(t, 3, sink.URL)
	q := ownedBy(t, "a", "a", "b", "c")
	c := ms[2]
	applyAll(ms[2:], ms[2:]) // c alone owns everything
	logQueued(t, c, 0, 5, q)
	eventually(t, "c's five attempts failed", func() bool { return c.sys.metrics.Transient.Load() >= 5 })
	c.stop(t)
	before := map[string]*persistence.Entry{}
	_ = c.spool.Recover(func(e *persistence.Entry) error { before[e.ID.String()] = e; return nil })
	if len(before) != 5 {
		t.Fatalf("c's spool holds %d messages, want 5", len(before))
	}

	c.inc++ // c returns: a new incarnation on the same spool
	c.start(t, sink.URL)
	applyAll(ms, ms)
	eventually(t, "c handed its messages over", func() bool { return c.sys.metrics.Queued.Load() == 0 })
	after := map[string]*persistence.Entry{}
	_ = ms[0].spool.Recover(func(e *persistence.Entry) error { after[e.ID.String()] = e; return nil })
	for id, e := range before {
		got := after[id]
		switch {
		case got == nil:
			t.Errorf("message %s is not in a's spool", id)
		case got.Attempts != e.Attempts || !got.Due.Equal(e.Due) || got.Queue != q:
			t.Errorf("message %s arrived as %d attempts due %v in %s, was %d due %v", id, got.Attempts, got.Due,
				got.Queue, e.Attempts, e.Due)
		}
	}
	n := 0
	_ = c.spool.Recover(func(*persistence.Entry) error { n++; return nil })
	if n != 0 {
		t.Errorf("c kept %d messages after handing them over", n)
	}
}

// Back pressure crosses members: an owner at its queued-message limit refuses handovers, so what
// the other member forwards stays queued there, and once that member is at its own limit its
// producers are refused. Nothing is lost: once the owner delivers, everything arrives.
func TestClusterFullOwnerSlowsOtherMembers(t *testing.T) {
	sink := newMemberSink(t)
	ms := make([]*member, 2)
	for i, lim := range []int{40, 10} {
		ms[i] = &member{id: string(rune('a' + i)), inc: 1, spool: persistence.NewMemory(), peers: &ms,
			limits: Limits{MaxQueued: lim}}
		ms[i].start(t, sink.URL)
	}
	applyAll(ms, ms)
	q := ownedBy(t, "b", "a", "b")
	sink.holdPosts() // b cannot deliver: its queue fills
	accepted, refused := 0, error(nil)
	for i := 0; i < 200 && refused == nil; i += 5 {
		recs := make([]Record, 0, 5)
		for j := i; j < i+5; j++ {
			recs = append(recs, ExternalRecord(*queued(q, j)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		refused = ms[0].sys.Log(ctx, recs)
		cancel()
		if refused == nil {
			accepted += 5
		}
		time.Sleep(5 * time.Millisecond) // let handovers happen: the limit is on what is queued
	}
	if !errors.Is(refused, ErrQueueFull) {
		t.Fatalf("a accepted %d records for b's full queue and never refused (last error %v)", accepted, refused)
	}
	if b := ms[1].sys.metrics.Queued.Load(); b > 10+handoverMessages {
		t.Errorf("b holds %d messages, past its limit of 10 by more than one handover", b)
	}
	t.Logf("a accepted %d records before refusing: %v (a holds %d, b %d)", accepted, refused,
		ms[0].sys.metrics.Queued.Load(), ms[1].sys.metrics.Queued.Load())
	sink.release()
	eventually(t, "every accepted record delivered", func() bool { return len(sink.snapshot()) >= accepted })
	time.Sleep(50 * time.Millisecond)
	checkOnce(t, sink.snapshot(), accepted)
}

// Injected messages, spooled and deferred, on a member that does not own their queue are delivered by
// the owner.
func TestClusterInjectOnAnyMember(t *testing.T) {
	sink := newMemberSink(t)
	ms := startMembers(t, 2, sink.URL)
	q := ownedBy(t, "b", "a", "b")
	for i, deferred := range []bool{false, true} {
		body := fmt.Sprintf(`{"id":"injected-%d","meta":{"q":%q}}`, i, q)
		m, _ := stubMessage(t, ms[0].sys.opts.IDs, time.Now(), q, body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := ms[0].sys.Inject(ctx, []*message.Message{m}, "192.0.2.1", deferred)
		cancel()
		if err != nil {
			t.Fatalf("inject (deferred %v): %v", deferred, err)
		}
	}
	// The policy's log hook also keeps the records about those messages (their Reception and
	// Delivery); only the messages themselves are counted here.
	injected := func() []memberPost {
		var out []memberPost
		for _, p := range sink.snapshot() {
			if strings.HasPrefix(p.id, "injected-") {
				out = append(out, p)
			}
		}
		return out
	}
	eventually(t, "both injected messages delivered", func() bool { return len(injected()) >= 2 })
	time.Sleep(50 * time.Millisecond)
	for _, p := range injected() {
		if p.member != "b" || p.queue != q {
			t.Errorf("%s delivered by %s for queue %q, want b for %s", p.id, p.member, p.queue, q)
		}
	}
	checkOnce(t, injected(), 2)
	eventually(t, "a holds nothing", func() bool { return ms[0].sys.metrics.Queued.Load() == 0 })
}
