package actors

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/ownership"
)

// ClusterOptions make a System one member of a cluster; nil Options.Cluster is a single node.
type ClusterOptions struct {
	Self ownership.Member
	// Engine is the actor engine with its remote (the cluster's transport), made by the caller so
	// that hollywood's cluster can share it.
	Engine *actor.Engine
	// Release tells every other member that this one has released a view: no session is left for
	// a queue it does not own in it.
	Release func(view uint64)
}

// clusterRouter is a cluster member's Router and Owners: a queue this member owns has a queue actor
// (the queues directory), any other queue it holds messages of has a forwarder (the forwards
// directory) that hands them to the owner. The membership, applied with apply, decides which; when
// it changes, queue actors of queues that moved away are retired (they fence and hand over) and
// forwarders of queues that came here are retired (they give what they hold to a new queue actor).
type clusterRouter struct {
	self string
	send Sender

	mu       sync.Mutex
	table    *ownership.Table
	addrs    map[string]string // member ID → address of its remote
	queues   *localRouter
	forwards *localRouter
	retiring map[*queueRef]struct{} // retired queue actors whose sessions are not all over yet
	released uint64                 // the last view this member told the others it released
	release  func(view uint64)
	changed  chan struct{} // closed and replaced at each change of the membership
	// routedAway counts the messages made here (by hooks and Inject) routed to a forwarder.
	routedAway atomic.Uint64
}

func newClusterRouter(opts *ClusterOptions, send Sender, queues, forwards *localRouter) *clusterRouter {
	c := &clusterRouter{self: opts.Self.ID, send: send, table: ownership.New(opts.Self), addrs: map[string]string{},
		queues: queues, forwards: forwards, retiring: map[*queueRef]struct{}{}, release: opts.Release,
		changed: make(chan struct{})}
	queues.fenced = c.fenced
	return c
}

// dir is the directory a queue's messages go to now. The caller holds c.mu.
func (c *clusterRouter) dir(name string) *localRouter {
	if c.table.Owns(name) {
		return c.queues
	}
	return c.forwards
}

// Route finds the queue's actor here, or its forwarder.
func (c *clusterRouter) Route(name string, n int) (*actor.PID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.dir(name)
	pid, err := d.Route(name, n)
	if err == nil && d == c.forwards {
		c.routedAway.Add(uint64(n))
	}
	return pid, err
}

// Recover is Route without the queue limit.
func (c *clusterRouter) Recover(name string, n int) (*actor.PID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dir(name).Recover(name, n)
}

// Release gives back routed inserts to whichever actor they were routed to.
func (c *clusterRouter) Release(name string, pid *actor.PID, n int) {
	c.queues.Release(name, pid, n)
	c.forwards.Release(name, pid, n)
}

// Queues lists the queues this member owns.
func (c *clusterRouter) Queues() []QueueRef { return c.queues.Queues() }

func (c *clusterRouter) Subscribe(pid *actor.PID)   { c.queues.Subscribe(pid) }
func (c *clusterRouter) Unsubscribe(pid *actor.PID) { c.queues.Unsubscribe(pid) }

// Owns says whether this member owns the queue now.
func (c *clusterRouter) Owns(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.table.Owns(name)
}

// MayDeliver says whether this member may start sessions for the queue.
func (c *clusterRouter) MayDeliver(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.table.MayDeliver(name)
}

// Owner is the owner's handover receiver, when another member owns the queue.
func (c *clusterRouter) Owner(name string) (*actor.PID, uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.table.Owner(name)
	addr, ok := c.addrs[id]
	if id == "" || id == c.self || !ok {
		return nil, 0, false
	}
	return actor.NewPID(addr, HandoverKind+"/"+HandoverID), c.table.View().Epoch, true
}

// Member is a live member as the membership reports it.
type Member struct {
	ID          string
	Addr        string
	Incarnation uint64
}

// apply takes a new membership: queues that moved away are retired, forwarders of queues that came
// here are retired, and every queue and forwarder looks at the new owners.
func (c *clusterRouter) apply(members []Member) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := make([]ownership.Member, len(members))
	for i, m := range members {
		ms[i] = ownership.Member{ID: m.ID, Incarnation: m.Incarnation}
		c.addrs[m.ID] = m.Addr
	}
	if !c.table.Apply(ms) {
		return
	}
	c.reassign()
}

// leave makes this member own nothing: everything it holds goes to the others.
func (c *clusterRouter) leave() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.table.Leave()
	c.reassign()
}

// Member says whether a live member's remote listens at addr, and which run of it.
func (c *clusterRouter) Member(addr string) (uint64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.table.View().Members {
		if c.addrs[m.ID] == addr {
			return m.Incarnation, true
		}
	}
	return 0, false
}

// Changed is closed at the next change of the membership.
func (c *clusterRouter) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// reassign retires what moved and tells everything else to look again. The caller holds c.mu.
func (c *clusterRouter) reassign() {
	close(c.changed)
	c.changed = make(chan struct{})
	for _, name := range c.queues.names() {
		if c.table.Owns(name) {
			if ref := c.queues.lookup(name); ref != nil {
				c.send.Send(ref.pid, ownerChanged{})
			}
			continue
		}
		if ref := c.queues.retire(name); ref != nil {
			c.retiring[ref] = struct{}{}
			c.send.Send(ref.pid, retireQueue{})
		}
	}
	for _, name := range c.forwards.names() {
		if !c.table.Owns(name) {
			if ref := c.forwards.lookup(name); ref != nil {
				c.send.Send(ref.pid, ownerChanged{})
			}
			continue
		}
		if ref := c.forwards.retire(name); ref != nil {
			c.send.Send(ref.pid, retireForward{})
		}
	}
	c.maybeRelease()
}

// fenced hears that a retired queue actor has no session left.
func (c *clusterRouter) fenced(ref *queueRef) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.retiring, ref)
	c.maybeRelease()
}

// maybeRelease tells the others this member released the current view, once no retired queue
// actor has a session left. The caller holds c.mu.
func (c *clusterRouter) maybeRelease() {
	v := c.table.View()
	if len(c.retiring) > 0 || v.ID == 0 || v.ID == c.released {
		return
	}
	c.released = v.ID
	if c.release != nil {
		c.release(v.ID)
	}
}

// peerReleased takes another member's release of a view; when that lifts the barrier of the
// current view, the queues held back by it look again.
func (c *clusterRouter) peerReleased(peer string, view uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.table.Released(peer, view) {
		return
	}
	for _, ref := range c.queues.Queues() {
		c.send.Send(ref.PID, ownerChanged{})
	}
}

// alone says whether no other member is live.
func (c *clusterRouter) alone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range c.table.View().Members {
		if m.ID != c.self {
			return false
		}
	}
	return true
}

// holding says what still holds messages of this member while it leaves: its forwarders, and the
// retired queue actors still running (those with a session, and all of them).
func (c *clusterRouter) holding() string {
	fwd := c.forwards.names()
	slices.Sort(fwd)
	c.mu.Lock()
	busy := len(c.retiring)
	c.mu.Unlock()
	return fmt.Sprintf("forwarders %v, retired queue actors %d (%d with a session)", fwd, len(c.queues.retiredRefs()), busy)
}

// describe is the membership as this member sees it, for logs and the admin API.
func (c *clusterRouter) describe() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.table.View()
	return fmt.Sprintf("epoch %d, %d members, waiting for %v", v.Epoch, len(v.Members), c.table.Pending())
}
