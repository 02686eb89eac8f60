package membership

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/anthdm/hollywood/cluster"
	"google.golang.org/protobuf/proto"

	"github.com/hookd/hookd/wire"
)

// core is the membership of one member as a state machine: it is given the messages that arrive
// and the time, and answers with effects (messages to send, views to publish, an error to stop
// on). It does no I/O and reads no clock, so it is tested without sockets or sleeps; node runs it
// inside a hollywood actor.
type core struct {
	self     record
	policy   string
	protocol uint32
	peers    []string // --cluster-peers without our own address
	hb       time.Duration
	timeout  time.Duration // JoinTimeout, for its error

	live     map[string]*record // the other live members, by id
	det      *detector
	answered map[string]string    // a peer entry -> the id of the member that answered it
	lost     map[string]bool      // addresses of members declared dead, joined again
	joinedAt map[string]time.Time // when a Join last went to an address
	released uint64

	view      View // the live set, this member included, as last committed
	published bool // the first view went out
	fatal     bool
	left      bool
	acks      map[string]bool // after leave: the members yet to acknowledge

	out effects
}

// record is a member as the core holds it.
type record struct {
	Member
	kinds    []string
	region   string
	released uint64 // the last view this member released, as we heard
}

// effects are what a core asks for, in order.
type effects struct {
	sends     []outgoing
	views     []published
	released  []releasedView
	fatal     error
	leaveDone bool
}

type outgoing struct {
	addr string
	msg  proto.Message
}

// published is a view and the same set as hollywood's cluster agent wants it.
type published struct {
	view  View
	agent []*cluster.Member
}

type releasedView struct {
	peer string
	view uint64
}

func newCore(cfg Config, peers []string, protocol uint32, kinds []string, region string) *core {
	return &core{
		self: record{Member: Member{ID: cfg.ID, Addr: cfg.Addr, Incarnation: cfg.Incarnation},
			kinds: slices.Clone(kinds), region: region},
		policy:   cfg.PolicyHash,
		protocol: protocol,
		peers:    peers,
		hb:       cfg.Heartbeat,
		timeout:  cfg.JoinTimeout,
		live:     map[string]*record{},
		det:      newDetector(cfg.DeadAfter),
		answered: map[string]string{},
		lost:     map[string]bool{},
		joinedAt: map[string]time.Time{},
		view:     View{Members: []Member{{ID: cfg.ID, Addr: cfg.Addr, Incarnation: cfg.Incarnation}}},
	}
}

// take returns the effects asked for since the last take.
func (c *core) take() effects {
	e := c.out
	c.out = effects{}
	return e
}

func (c *core) done() bool { return c.fatal || c.left }

// start sends the first Joins; without peers, the first view is this member alone.
func (c *core) start(now time.Time) {
	for _, p := range c.peers {
		c.join(p, now)
	}
	c.maybePublish()
}

// tick runs every heartbeat: the silent are declared dead, the live hear from us, and the peers
// not in the view are asked to join again.
func (c *core) tick(now time.Time) {
	if c.done() {
		return
	}
	dead := c.det.Dead(now)
	for _, id := range dead {
		if r := c.live[id]; r != nil {
			slog.Warn("hookd: cluster: member declared dead", "member", c.self.ID, "dead", id, "addr", r.Addr,
				"silent_for_at_least", c.det.deadAfter)
			c.lost[r.Addr] = true
			delete(c.live, id)
		}
	}
	if len(dead) > 0 {
		c.commit()
	}
	for _, id := range c.liveIDs() {
		r := c.live[id]
		c.send(r.Addr, &wire.Heartbeat{Id: c.self.ID, Addr: c.self.Addr, Incarnation: c.self.Incarnation,
			ReleasedView: c.released})
	}
	for _, addr := range c.missing() {
		c.joinAgain(addr, now)
	}
}

// missing are the addresses to ask to join: peer entries no live member answers for, and the
// addresses of members declared dead that nobody live holds.
func (c *core) missing() []string {
	held := map[string]bool{}
	for _, r := range c.live {
		held[r.Addr] = true
	}
	var out []string
	for _, p := range c.peers {
		id, ok := c.answered[p]
		if held[p] || (ok && (id == c.self.ID || c.live[id] != nil)) {
			continue
		}
		out = append(out, p)
	}
	var lost []string
	for addr := range c.lost {
		if held[addr] {
			delete(c.lost, addr)
			continue
		}
		if !slices.Contains(out, addr) {
			lost = append(lost, addr)
		}
	}
	slices.Sort(lost)
	return append(out, lost...)
}

// joinTimedOut is JoinTimeout passing: the first view goes out with whoever answered, or, when no
// peer did, the member stops.
func (c *core) joinTimedOut() {
	if c.done() || c.published {
		return
	}
	if len(c.live) == 0 && !c.anyAnswered() {
		var silent []string
		for _, p := range c.peers {
			if _, ok := c.answered[p]; !ok {
				silent = append(silent, p)
			}
		}
		c.fail(fmt.Errorf("hookd: cluster: no member of --cluster-peers answered within %s: %s",
			c.timeout, strings.Join(silent, ", ")))
		return
	}
	c.publish()
}

func (c *core) anyAnswered() bool {
	for _, id := range c.answered {
		if id != c.self.ID {
			return true
		}
	}
	return false
}

// release records that this member released view and tells the live members.
func (c *core) release(view uint64) {
	if view == 0 || view == c.released { // view ids are hashes, not ordered
		return
	}
	c.released = view
	if c.done() {
		return
	}
	for _, id := range c.liveIDs() {
		c.send(c.live[id].Addr, &wire.Released{Id: c.self.ID, Incarnation: c.self.Incarnation, View: view})
	}
}

// leave tells the live members this member leaves; effects.leaveDone follows their last LeaveAck.
func (c *core) leave() {
	if c.done() {
		c.out.leaveDone = true
		return
	}
	c.left = true
	c.acks = map[string]bool{}
	for _, id := range c.liveIDs() {
		c.acks[id] = true
		c.send(c.live[id].Addr, &wire.Leave{Id: c.self.ID, Addr: c.self.Addr, Incarnation: c.self.Incarnation})
	}
	if len(c.acks) == 0 {
		c.out.leaveDone = true
	}
}

// receive handles a message from another member.
func (c *core) receive(now time.Time, msg proto.Message) {
	if c.fatal {
		return
	}
	if c.left {
		if a, ok := msg.(*wire.LeaveAck); ok {
			c.onLeaveAck(a)
		}
		return
	}
	switch m := msg.(type) {
	case *wire.Join:
		c.onJoin(now, m)
	case *wire.Welcome:
		c.onWelcome(now, m)
	case *wire.Refused:
		c.onRefused(m)
	case *wire.Heartbeat:
		c.onHeartbeat(now, m)
	case *wire.Leave:
		c.onLeave(m)
	case *wire.Released:
		c.onReleased(now, m)
	}
}

func (c *core) onJoin(now time.Time, j *wire.Join) {
	mi := j.GetMember()
	if !wellFormed(mi) {
		return
	}
	if j.GetProtocol() != c.protocol {
		c.refuse(mi, j.GetDialed(), &wire.Refused{Code: wire.RefusedCode_REFUSED_CODE_PROTOCOL,
			Reason: fmt.Sprintf("it speaks membership protocol %d, this member speaks %d", j.GetProtocol(), c.protocol)})
		return
	}
	if mi.GetId() == c.self.ID {
		if mi.GetIncarnation() == c.self.Incarnation && mi.GetAddr() == c.self.Addr {
			// Our own Join: that entry of --cluster-peers is this member under another name.
			c.markAnswered(j.GetDialed(), c.self.ID)
			c.maybePublish()
			return
		}
		c.refuseDuplicate(mi, j.GetDialed(), c.self.Addr)
		return
	}
	if r := c.live[mi.GetId()]; r != nil && r.Addr != mi.GetAddr() {
		c.refuseDuplicate(mi, j.GetDialed(), r.Addr)
		return
	}
	if j.GetPolicyHash() != c.policy {
		c.refuse(mi, j.GetDialed(), &wire.Refused{Code: wire.RefusedCode_REFUSED_CODE_POLICY_HASH,
			Reason: fmt.Sprintf("its policy hash %q differs from this member's %q", j.GetPolicyHash(), c.policy)})
		return
	}
	if !c.admit(now, mi) {
		return
	}
	c.markAddr(mi.GetAddr(), mi.GetId())
	c.send(mi.GetAddr(), &wire.Welcome{Member: c.info(&c.self), Members: c.infos(), Dialed: j.GetDialed()})
	c.joinUnknown(now, j.GetMembers())
	c.maybePublish()
}

func (c *core) onWelcome(now time.Time, w *wire.Welcome) {
	mi := w.GetMember()
	if !wellFormed(mi) || mi.GetId() == c.self.ID {
		return
	}
	c.markAnswered(w.GetDialed(), mi.GetId())
	c.markAddr(mi.GetAddr(), mi.GetId())
	if r := c.live[mi.GetId()]; r != nil && r.Addr != mi.GetAddr() {
		// The welcomer is a second member with a live member's id: it is the one to stop.
		c.refuseDuplicate(mi, "", r.Addr)
		c.maybePublish()
		return
	}
	if c.admit(now, mi) {
		c.joinUnknown(now, w.GetMembers())
	}
	c.maybePublish()
}

// joinUnknown joins the members another member told us of that we do not hold live.
func (c *core) joinUnknown(now time.Time, members []*wire.MemberInfo) {
	for _, o := range members {
		if !wellFormed(o) || o.GetId() == c.self.ID {
			continue
		}
		if r := c.live[o.GetId()]; r != nil && r.Incarnation >= o.GetIncarnation() {
			continue
		}
		c.joinAgain(o.GetAddr(), now)
	}
}

func (c *core) onRefused(r *wire.Refused) {
	if r.GetIncarnation() != c.self.Incarnation {
		return // meant for another run of this member
	}
	c.fail(c.refusedError(r))
}

func (c *core) onHeartbeat(now time.Time, h *wire.Heartbeat) {
	r := c.live[h.GetId()]
	if r != nil && r.Incarnation == h.GetIncarnation() {
		c.det.Heard(r.ID, r.Incarnation, now)
		c.heardRelease(r, h.GetReleasedView())
		return
	}
	if h.GetId() == "" || h.GetId() == c.self.ID || h.GetAddr() == "" || (r != nil && h.GetIncarnation() < r.Incarnation) {
		return
	}
	// A member not in our view (declared dead, or a new run) still speaks: shake hands again.
	c.joinAgain(h.GetAddr(), now)
}

func (c *core) onLeave(l *wire.Leave) {
	if r := c.live[l.GetId()]; r != nil && r.Incarnation == l.GetIncarnation() {
		slog.Info("hookd: cluster: member left", "member", c.self.ID, "left", r.ID, "addr", r.Addr)
		c.remove(r.ID)
		c.commit()
	}
	if l.GetAddr() != "" {
		c.send(l.GetAddr(), &wire.LeaveAck{Id: c.self.ID, Incarnation: l.GetIncarnation()})
	}
}

func (c *core) onLeaveAck(a *wire.LeaveAck) {
	if a.GetIncarnation() != c.self.Incarnation || !c.acks[a.GetId()] {
		return
	}
	delete(c.acks, a.GetId())
	if len(c.acks) == 0 {
		c.out.leaveDone = true
	}
}

func (c *core) onReleased(now time.Time, m *wire.Released) {
	if r := c.live[m.GetId()]; r != nil && r.Incarnation == m.GetIncarnation() {
		c.det.Heard(r.ID, r.Incarnation, now)
		c.heardRelease(r, m.GetView())
	}
}

func (c *core) heardRelease(r *record, view uint64) {
	if view != 0 && view != r.released {
		r.released = view
		c.out.released = append(c.out.released, releasedView{peer: r.ID, view: view})
	}
}

// admit takes mi into the view, or refreshes it; a new run of a live member replaces the old one
// in two views (without it, then with the new run). It reports false for a late message of a past
// run. The caller has checked that a live member of the same id has the same address.
func (c *core) admit(now time.Time, mi *wire.MemberInfo) bool {
	r := c.live[mi.GetId()]
	switch {
	case r == nil:
		slog.Info("hookd: cluster: member joined", "member", c.self.ID, "joined", mi.GetId(), "addr", mi.GetAddr())
	case r.Incarnation == mi.GetIncarnation():
		c.det.Heard(r.ID, r.Incarnation, now)
		return true
	case mi.GetIncarnation() < r.Incarnation:
		return false
	default:
		slog.Info("hookd: cluster: member restarted", "member", c.self.ID, "restarted", r.ID, "addr", r.Addr)
		c.remove(r.ID)
		c.commit()
	}
	c.live[mi.GetId()] = &record{
		Member: Member{ID: mi.GetId(), Addr: mi.GetAddr(), Incarnation: mi.GetIncarnation()},
		kinds:  slices.Clone(mi.GetKinds()), region: mi.GetRegion(),
	}
	c.det.Heard(mi.GetId(), mi.GetIncarnation(), now)
	delete(c.lost, mi.GetAddr())
	c.commit()
	return true
}

func (c *core) remove(id string) {
	delete(c.live, id)
	c.det.Forget(id)
}

// commit compares the live set with the last view and, once the first view is out, publishes it
// when it changed.
func (c *core) commit() {
	v := c.currentView()
	if v.equal(c.view) {
		return
	}
	c.view = v
	if c.published {
		c.out.views = append(c.out.views, c.snapshot())
	}
}

// maybePublish sends the first view once every peer entry is answered.
func (c *core) maybePublish() {
	if c.published || c.done() {
		return
	}
	for _, p := range c.peers {
		if _, ok := c.answered[p]; !ok {
			return
		}
	}
	c.publish()
}

func (c *core) publish() {
	c.published = true
	c.view = c.currentView()
	c.out.views = append(c.out.views, c.snapshot())
}

func (c *core) currentView() View {
	v := View{Members: make([]Member, 0, len(c.live)+1)}
	v.Members = append(v.Members, c.self.Member)
	for _, r := range c.live {
		v.Members = append(v.Members, r.Member)
	}
	slices.SortFunc(v.Members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return v
}

// snapshot is the committed view with the agent's form of it.
func (c *core) snapshot() published {
	p := published{view: c.view.clone()}
	for _, m := range c.view.Members {
		r := &c.self
		if m.ID != c.self.ID {
			r = c.live[m.ID]
		}
		p.agent = append(p.agent, &cluster.Member{ID: r.ID, Host: r.Addr, Kinds: slices.Clone(r.kinds), Region: r.region})
	}
	return p
}

// agentSelf is the set the agent starts with: this member alone.
func (c *core) agentSelf() []*cluster.Member {
	return []*cluster.Member{{ID: c.self.ID, Host: c.self.Addr, Kinds: slices.Clone(c.self.kinds), Region: c.self.region}}
}

func (c *core) markAnswered(dialed, id string) {
	if dialed != "" && slices.Contains(c.peers, dialed) {
		c.answered[dialed] = id
	}
}

func (c *core) markAddr(addr, id string) { c.markAnswered(addr, id) }

func (c *core) join(addr string, now time.Time) {
	c.joinedAt[addr] = now
	c.send(addr, &wire.Join{Member: c.info(&c.self), PolicyHash: c.policy, Protocol: c.protocol, Dialed: addr,
		Members: c.infos()})
}

// joinAgain sends a Join to addr unless one went there less than half a heartbeat ago.
func (c *core) joinAgain(addr string, now time.Time) {
	if at, ok := c.joinedAt[addr]; !ok || now.Sub(at) >= c.hb/2 {
		c.join(addr, now)
	}
}

func (c *core) send(addr string, msg proto.Message) {
	c.out.sends = append(c.out.sends, outgoing{addr: addr, msg: msg})
}

func (c *core) fail(err error) {
	if c.done() {
		return
	}
	c.fatal = true
	c.out.fatal = err
}

func wellFormed(mi *wire.MemberInfo) bool { return mi.GetId() != "" && mi.GetAddr() != "" }

func (c *core) info(r *record) *wire.MemberInfo {
	return &wire.MemberInfo{Id: r.ID, Addr: r.Addr, Incarnation: r.Incarnation, Kinds: slices.Clone(r.kinds),
		Region: r.region}
}

// infos are the live members, this member included, sorted by id.
func (c *core) infos() []*wire.MemberInfo {
	out := []*wire.MemberInfo{c.info(&c.self)}
	for _, id := range c.liveIDs() {
		out = append(out, c.info(c.live[id]))
	}
	return out
}

// holds reports whether addr is the address of a live member.
func (c *core) holds(addr string) bool {
	for _, r := range c.live {
		if r.Addr == addr {
			return true
		}
	}
	return false
}

func (c *core) liveIDs() []string {
	ids := make([]string, 0, len(c.live))
	for id := range c.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
