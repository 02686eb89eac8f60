// Package membership is the cluster membership of hookd nodes. It is a provider for hollywood's
// cluster (cluster.NewConfig().WithProvider(m.Provider())): it finds the other members from a
// static list of addresses (--cluster-peers), admits them by a handshake that checks their id,
// policy and protocol version, hears their heartbeats, and declares a member dead when it has been
// silent for DeadAfter. Each change of the set of live members goes to Config.OnView and to the
// hollywood cluster agent, so c.Members() and the MemberJoinEvent and MemberLeaveEvent of the
// engine's event stream follow the same view.
//
// Every member runs an actor at the well-known PID <addr>/hookd/membership (see PID); the messages
// between those actors are the protobuf messages of wire/membership.proto, carried by hollywood's
// remote.
package membership

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"

	"github.com/hookd/hookd/clock"
)

// Protocol is the version of the membership protocol this package speaks. Members speaking
// different versions refuse each other.
const Protocol = 1

// The defaults of Config's durations.
const (
	DefaultHeartbeat   = 500 * time.Millisecond
	DefaultDeadAfter   = 5 * time.Second
	DefaultJoinTimeout = 30 * time.Second
)

// Kind and ActorID make the PID of the membership actor, the same on every member: Kind/ActorID.
const (
	Kind    = "hookd"
	ActorID = "membership"
)

// leaveWait bounds how long Leave waits for the peers to acknowledge.
const leaveWait = time.Second

// PID is the PID of the membership actor of the member whose remote listens at addr.
func PID(addr string) *actor.PID { return actor.NewPID(addr, Kind+"/"+ActorID) }

// Config describes this member and how membership behaves.
type Config struct {
	// ID is this member's --cluster-id, unique in the cluster.
	ID string
	// Addr is the address (host:port) of this member's hollywood remote, at which peers reach it.
	// It should be the engine's own address (engine.Address()): hollywood delivers a message
	// locally only when its PID names exactly that address.
	Addr string
	// Peers are the addresses of other members (--cluster-peers). Our own Addr may be among them;
	// it is ignored.
	Peers []string
	// PolicyHash identifies the policy this member runs. Members must run the same policy: a
	// member with another hash is refused.
	PolicyHash string
	// Incarnation identifies this run of the member (for example the start time in nanoseconds),
	// so that a restarted member is told from its past run. Zero means Clock.Now() in nanoseconds.
	Incarnation uint64
	// Heartbeat is how often this member tells its peers it is alive (DefaultHeartbeat when zero).
	Heartbeat time.Duration
	// DeadAfter is how long a member may stay silent before it is declared dead and removed from
	// the view (DefaultDeadAfter when zero). It must be at least twice Heartbeat.
	DeadAfter time.Duration
	// JoinTimeout is how long the first view waits for every peer to answer; when Peers is not
	// empty and none answered by then, OnFatal is called (DefaultJoinTimeout when zero).
	JoinTimeout time.Duration
	// Clock is the source of time of heartbeats, failure detection and timeouts (clock.Real when
	// nil).
	Clock clock.Clock
	// OnView is called with the full set of live members each time it changes. The first view is
	// published once every peer has answered the handshake or JoinTimeout has passed (until then
	// hollywood's cluster agent holds this member alone). A restarted member (same ID, new
	// Incarnation) shows as two changes: a view without it, then one with the new run. Calls are
	// made from one goroutine, in order, and may be nil.
	OnView func(View)
	// OnFatal is called once when this member cannot be part of the cluster: its id is already
	// used, its policy hash or protocol version differs from a peer's, or no peer answered within
	// JoinTimeout. The error is one line naming the member concerned; the node should exit. When
	// nil, the error is logged.
	OnFatal func(error)
	// OnReleased is called when a peer released a view (see Membership.Release): once each time the
	// view a peer last released changes, and once for a peer that joins having released one. Calls
	// come from the same goroutine as OnView. It may be nil.
	OnReleased func(peer string, view uint64)
}

// Member is one member of the cluster.
type Member struct {
	ID          string
	Addr        string
	Incarnation uint64
}

// View is a set of live members: sorted by ID, this member included.
type View struct {
	Members []Member
}

// Member returns the member of v with the given id.
func (v View) Member(id string) (Member, bool) {
	i, ok := slices.BinarySearchFunc(v.Members, id, func(m Member, id string) int {
		return strings.Compare(m.ID, id)
	})
	if !ok {
		return Member{}, false
	}
	return v.Members[i], true
}

// IDs returns the ids of v's members, sorted.
func (v View) IDs() []string {
	ids := make([]string, len(v.Members))
	for i, m := range v.Members {
		ids[i] = m.ID
	}
	return ids
}

func (v View) equal(o View) bool { return slices.Equal(v.Members, o.Members) }

func (v View) clone() View { return View{Members: slices.Clone(v.Members)} }

// Membership is the membership of one member in one cluster. Build it with New and hand
// Provider() to the hollywood cluster; it starts with the cluster.
type Membership struct {
	cfg      Config
	peers    []string
	protocol uint32 // Protocol; tests speak another version

	mu       sync.Mutex
	view     View // the last view published
	node     *node
	released uint64
	left     bool
	events   *notifier
}

// New checks cfg, fills in its defaults and returns the Membership it describes.
func New(cfg Config) (*Membership, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.DeadAfter == 0 {
		cfg.DeadAfter = DefaultDeadAfter
	}
	if cfg.JoinTimeout == 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	if cfg.Incarnation == 0 {
		cfg.Incarnation = uint64(cfg.Clock.Now().UnixNano())
	}
	if err := checkID(cfg.ID); err != nil {
		return nil, err
	}
	if err := checkAddr(cfg.Addr); err != nil {
		return nil, fmt.Errorf("hookd: cluster: member %q: address: %w", cfg.ID, err)
	}
	switch {
	case cfg.Heartbeat < 0 || cfg.DeadAfter < 0 || cfg.JoinTimeout < 0:
		return nil, fmt.Errorf("hookd: cluster: member %q: negative duration (heartbeat %s, dead after %s, join timeout %s)",
			cfg.ID, cfg.Heartbeat, cfg.DeadAfter, cfg.JoinTimeout)
	case cfg.DeadAfter < 2*cfg.Heartbeat:
		return nil, fmt.Errorf("hookd: cluster: member %q: dead after %s is less than two heartbeats of %s",
			cfg.ID, cfg.DeadAfter, cfg.Heartbeat)
	}
	var peers []string
	for _, p := range cfg.Peers {
		if err := checkAddr(p); err != nil {
			return nil, fmt.Errorf("hookd: cluster: member %q: --cluster-peers entry %q: %w", cfg.ID, p, err)
		}
		if p != cfg.Addr && !slices.Contains(peers, p) {
			peers = append(peers, p)
		}
	}
	cfg.Peers = slices.Clone(cfg.Peers)
	return &Membership{cfg: cfg, peers: peers, protocol: Protocol}, nil
}

func checkID(id string) error {
	if id == "" {
		return errors.New("hookd: cluster: the cluster id is empty")
	}
	if strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0 {
		return fmt.Errorf("hookd: cluster: the cluster id %q holds a space or a control character", id)
	}
	return nil
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" {
		return fmt.Errorf("%q names no host", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return fmt.Errorf("%q has no valid port", addr)
	}
	return nil
}

// Provider returns the hollywood cluster provider to pass to cluster.NewConfig().WithProvider. A
// Membership serves one cluster: the provider starts the membership actor (PID(Addr)) when the
// cluster starts and stops it when the cluster stops.
func (m *Membership) Provider() cluster.Producer {
	return func(c *cluster.Cluster) actor.Producer {
		return func() actor.Receiver { return &provider{m: m, c: c} }
	}
}

// Release tells every live peer at once, and in every later heartbeat, that this member released
// view. A view is an id, not an order: the latest release is the one that counts, and a release of
// view 0 or of the view last released does nothing. It may be called before the cluster starts.
func (m *Membership) Release(view uint64) {
	m.mu.Lock()
	if view == 0 || view == m.released { // view ids are hashes, not ordered
		m.mu.Unlock()
		return
	}
	m.released = view
	n := m.node
	m.mu.Unlock()
	if n != nil {
		n.engine.Send(n.pid, releaseCmd{view: view})
	}
}

// Leave stops this member's membership gracefully: it tells the live peers that it leaves, so
// they drop it at once rather than after DeadAfter, and waits until they acknowledged (at most a
// second of real time). No view is published afterwards. Calling it again does nothing.
func (m *Membership) Leave() {
	m.mu.Lock()
	if m.left {
		m.mu.Unlock()
		return
	}
	m.left = true
	n := m.node
	m.mu.Unlock()
	if n == nil {
		return
	}
	done := make(chan struct{})
	n.engine.Send(n.pid, leaveCmd{done: done})
	// Real time, not Config.Clock: a fake clock that nobody moves must not hang a node's shutdown.
	t := time.NewTimer(leaveWait)
	defer t.Stop()
	select {
	case <-done:
	case <-n.stopped:
	case <-t.C:
	}
}

// Members returns the view most recently published (OnView may not have been called with it
// yet), or an empty View before the first.
func (m *Membership) Members() View {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.view.clone()
}

// start spawns the membership actor on the cluster's engine; the cluster's provider calls it.
func (m *Membership) start(c *cluster.Cluster) {
	m.mu.Lock()
	if m.node != nil || m.left {
		m.mu.Unlock()
		return
	}
	m.events = newNotifier()
	n := newNode(m, c)
	m.node = n
	m.mu.Unlock()
	c.Engine().Spawn(func() actor.Receiver { return n }, Kind, actor.WithID(ActorID))
	if !n.running() {
		// hollywood refuses a second actor of the same PID, and only broadcasts that it did.
		m.fatal(fmt.Errorf("hookd: cluster: member %q at %s: another membership actor already runs on this engine",
			m.cfg.ID, m.cfg.Addr))
	}
}

// stop stops the membership actor; the cluster's provider calls it when it stops.
func (m *Membership) stop() {
	m.mu.Lock()
	n := m.node
	m.mu.Unlock()
	if n == nil {
		return
	}
	if n.running() {
		<-n.engine.Poison(n.pid).Done()
	}
	m.events.close() // already done when the actor stopped, unless it never ran
}

// publish records v as the current view and hands it to OnView.
func (m *Membership) publish(v View) {
	m.mu.Lock()
	m.view = v.clone()
	m.mu.Unlock()
	if f := m.cfg.OnView; f != nil {
		v := v.clone()
		m.events.post(func() { f(v) })
	}
}

func (m *Membership) releasedBy(peer string, view uint64) {
	if f := m.cfg.OnReleased; f != nil {
		m.events.post(func() { f(peer, view) })
	}
}

func (m *Membership) fatal(err error) {
	f := m.cfg.OnFatal
	if f == nil {
		f = logFatal
	}
	m.events.post(func() { f(err) })
}

// provider is the actor hollywood's cluster spawns as its provider ("provider/<id>"): peers cannot
// address it, so it only starts and stops the membership actor, which has a well-known PID.
type provider struct {
	m *Membership
	c *cluster.Cluster
}

// Receive starts the membership with the provider and stops it with the provider.
func (p *provider) Receive(ctx *actor.Context) {
	switch ctx.Message().(type) {
	case actor.Started:
		p.m.start(p.c)
	case actor.Stopped:
		p.m.stop()
	}
}

// notifier calls the callbacks of a Membership from one goroutine, in the order they were posted.
type notifier struct {
	mu     sync.Mutex
	cond   *sync.Cond
	queue  []func()
	closed bool
}

func newNotifier() *notifier {
	n := &notifier{}
	n.cond = sync.NewCond(&n.mu)
	go n.run()
	return n
}

func (n *notifier) post(f func()) {
	n.mu.Lock()
	if !n.closed {
		n.queue = append(n.queue, f)
		n.cond.Signal()
	}
	n.mu.Unlock()
}

// close lets the goroutine run what was posted and end. It does not wait, so a callback may stop
// the cluster.
func (n *notifier) close() {
	n.mu.Lock()
	n.closed = true
	n.cond.Signal()
	n.mu.Unlock()
}

func (n *notifier) run() {
	for {
		n.mu.Lock()
		for len(n.queue) == 0 && !n.closed {
			n.cond.Wait()
		}
		if len(n.queue) == 0 {
			n.mu.Unlock()
			return
		}
		f := n.queue[0]
		n.queue[0] = nil
		n.queue = n.queue[1:]
		n.mu.Unlock()
		f()
	}
}
