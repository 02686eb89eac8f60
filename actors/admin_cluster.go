package actors

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/wire"
)

// Administration of a cluster: the administrators' bounces and suspensions apply on every member,
// and the admin API of any member shows every member's queues.
//
// Every member runs an admin actor at the well-known PID <addr>/hookd/admin. A rule added on a
// member (AddAdmin) goes into its own registry and, as wire.AdminRules, to the admin actor of every
// other member of its view, which stores it under the same ID with the same expiry (admin.Registry
// Put), so a DELETE by that ID works on any member and the rule ends everywhere at the same time,
// each member by its own clock. A cancellation (CancelAdmin) goes out as wire.AdminCancel. When a
// member appears in the view (a new member, a restarted one, one back from a partition), every
// member sends it all the rules it holds; a rule it already has is ignored. The admin actor also
// answers wire.QueuesRequest with this member's queues (ClusterQueues, ClusterStatus).

// AdminKind and AdminID name every member's admin actor: peers address it knowing only the
// member's address.
const (
	AdminKind = "hookd"
	AdminID   = "admin"
)

// Timeouts of the admin API's questions to other members: the asking member waits askTimeout for
// each answer; the member asked gives its queues reportTimeout to answer it, so that one slow queue
// leaves that queue out rather than the whole member.
const (
	askTimeout    = 2 * time.Second
	reportTimeout = 1500 * time.Millisecond
)

// AdminPorts are what the admin actor uses.
type AdminPorts struct {
	Registry *admin.Registry
	// Changed tells this member's queues that the rules changed.
	Changed func()
	// Report is this member's answer to a QueuesRequest.
	Report func(ctx context.Context, req *wire.QueuesRequest) *wire.QueuesReply
	Send   Sender
	Clock  clock.Clock
	Log    *slog.Logger
	Ctx    context.Context // ends with the System: reports still being gathered give up
}

// adminActor applies other members' rules and cancellations here and answers their questions. It
// holds no state and never waits: a report is gathered on a goroutine of its own, which answers
// the asker.
type adminActor struct{ p AdminPorts }

// Receive handles one message.
func (a *adminActor) Receive(c *actor.Context) {
	switch m := c.Message().(type) {
	case *wire.AdminRules:
		now, stored := a.p.Clock.Now(), false
		for _, r := range m.Rules {
			if a.p.Registry.Put(ruleEntry(r), now) {
				stored = true
			}
		}
		if stored {
			a.p.Log.Debug("administrators' rules from another member", "from", m.From, "rules", len(m.Rules))
			a.p.Changed()
		}
	case *wire.AdminCancel:
		if a.p.Registry.Revoke(m.Id, a.p.Clock.Now()) {
			a.p.Changed()
		}
	case *wire.QueuesRequest:
		to := c.Sender()
		if to == nil {
			return
		}
		req := &wire.QueuesRequest{Detail: m.Detail, Summary: m.Summary, Bounces: m.Bounces}
		go func() {
			ctx, cancel := context.WithTimeout(a.p.Ctx, reportTimeout)
			defer cancel()
			a.p.Send.Send(to, a.p.Report(ctx, req))
		}()
	}
}

// adminNet is a cluster member's list of the others, for the rules: AddAdmin sends a rule to the
// members of the view at the time it was added, and a member new in a view gets every rule held
// when the view was applied. One lock orders the two, so no member misses a rule added while it
// joins.
type adminNet struct {
	mu      sync.Mutex
	self    string
	members []Member // the current view, this member included
}

// others lists the members other than this one; the caller holds n.mu.
func (n *adminNet) others() []Member {
	out := make([]Member, 0, len(n.members))
	for _, m := range n.members {
		if m.ID != n.self {
			out = append(out, m)
		}
	}
	return out
}

func adminPID(addr string) *actor.PID { return actor.NewPID(addr, AdminKind+"/"+AdminID) }

// spawnAdmin starts a cluster member's admin actor.
func (s *System) spawnAdmin() {
	s.adminNet = &adminNet{self: s.opts.Cluster.Self.ID}
	s.armAdminResync()
	p := AdminPorts{Registry: s.admin, Changed: s.AdminChanged, Report: s.report, Send: s.send, Clock: s.opts.Clock,
		Log: s.log, Ctx: s.ctx}
	opts := append([]actor.OptFunc{actor.WithID(AdminID)}, actorOpts(s.log, &s.metrics.Panics)...)
	s.adminPID = s.engine.Spawn(func() actor.Receiver { return &adminActor{p: p} }, AdminKind, opts...)
}

// AddAdmin adds an administrator's bounce or suspension (expiring at expires) and tells the queues.
// On a cluster member the rule also goes to every other member, where it applies with the same ID
// and expiry.
func (s *System) AddAdmin(kind admin.Kind, c admin.Criteria, reason string, expires time.Time, suppress bool) admin.Entry {
	add := func() admin.Entry { return s.admin.Add(kind, c, reason, 0, expires, suppress, s.opts.Clock.Now()) }
	if s.adminNet == nil {
		e := add()
		s.AdminChanged()
		return e
	}
	n := s.adminNet
	n.mu.Lock()
	e := add()
	to := n.others()
	n.mu.Unlock()
	s.AdminChanged()
	rules := &wire.AdminRules{Rules: []*wire.AdminRule{entryRule(e)}, From: n.self}
	for _, m := range to {
		s.sendAdmin(m.Addr, rules)
	}
	return e
}

// CancelAdmin ends a bounce or suspension by ID (false when this member knows none) and tells the
// queues; on a cluster member it ends on every other member too.
func (s *System) CancelAdmin(id string) bool {
	if !s.admin.Cancel(id) {
		return false
	}
	s.AdminChanged()
	if n := s.adminNet; n != nil {
		n.mu.Lock()
		to := n.others()
		n.mu.Unlock()
		for _, m := range to {
			s.sendAdmin(m.Addr, &wire.AdminCancel{Id: id, From: n.self})
		}
	}
	return true
}

// syncAdmin takes a new view: each member new in it (by ID and incarnation) gets every rule this
// member holds.
func (s *System) syncAdmin(members []Member) {
	n := s.adminNet
	if n == nil {
		return
	}
	n.mu.Lock()
	before := n.members
	n.members = slices.Clone(members)
	var fresh []Member
	for _, m := range n.others() {
		if !slices.Contains(before, m) {
			fresh = append(fresh, m)
		}
	}
	var rules []*wire.AdminRule
	if len(fresh) > 0 {
		now := s.opts.Clock.Now()
		for _, kind := range []admin.Kind{admin.Bounce, admin.Suspend} {
			for _, e := range s.admin.List(kind, now) {
				rules = append(rules, entryRule(e))
			}
		}
	}
	n.mu.Unlock()
	if len(rules) == 0 {
		return
	}
	msg := &wire.AdminRules{Rules: rules, From: n.self}
	for _, m := range fresh {
		s.sendAdmin(m.Addr, msg)
	}
}

// adminResync is how often a member tells every other member all the rules it holds and the
// cancellations it remembers. A rule or a cancellation sent once can be lost on the way (a
// connection that dropped and came back without the member leaving the view: membership.NewEngine
// drops what it could not send); the next resync brings it. The registry makes the repeats
// harmless: a rule held is not stored twice, a cancelled one is not stored again.
const adminResync = 10 * time.Second

// armAdminResync runs resyncAdmin every adminResync until the node stops.
func (s *System) armAdminResync() {
	s.opts.Clock.AfterFunc(adminResync, func() {
		select {
		case <-s.clusterStop:
			return
		default:
		}
		s.resyncAdmin()
		s.armAdminResync()
	})
}

// resyncAdmin sends every other member of the view this member's rules and remembered
// cancellations.
func (s *System) resyncAdmin() {
	n := s.adminNet
	if n == nil {
		return
	}
	now := s.opts.Clock.Now()
	n.mu.Lock()
	to := n.others()
	var rules []*wire.AdminRule
	for _, kind := range []admin.Kind{admin.Bounce, admin.Suspend} {
		for _, e := range s.admin.List(kind, now) {
			rules = append(rules, entryRule(e))
		}
	}
	gone := s.admin.Gone(now)
	n.mu.Unlock()
	for _, m := range to {
		if len(rules) > 0 {
			s.sendAdmin(m.Addr, &wire.AdminRules{Rules: rules, From: n.self})
		}
		for _, id := range gone {
			s.sendAdmin(m.Addr, &wire.AdminCancel{Id: id, From: n.self})
		}
	}
}

// sendAdmin sends to the admin actor at addr (a member whose connection dropped does not get it:
// membership.NewEngine; it gets the rules again at the next resync, or when it is back in a view).
func (s *System) sendAdmin(addr string, msg any) { s.engine.Send(adminPID(addr), msg) }

// entryRule and ruleEntry carry an admin.Entry between members (Counts stay on each member).
func entryRule(e admin.Entry) *wire.AdminRule {
	r := &wire.AdminRule{Id: e.ID, Kind: wire.AdminKind(e.Kind), Campaign: e.Criteria.Campaign, Tenant: e.Criteria.Tenant,
		Domain: e.Criteria.Domain, RoutingDomain: e.Criteria.RoutingDomain, QueueNames: e.Criteria.QueueNames,
		Reason: e.Reason, Expires: dueNanos(e.Expires), SuppressLogging: e.SuppressLogging, Added: dueNanos(e.Added)}
	return r
}

func ruleEntry(r *wire.AdminRule) admin.Entry {
	kind := admin.Kind(0)
	switch r.Kind {
	case wire.AdminKind_ADMIN_KIND_BOUNCE:
		kind = admin.Bounce
	case wire.AdminKind_ADMIN_KIND_SUSPEND:
		kind = admin.Suspend
	}
	return admin.Entry{ID: r.Id, Kind: kind, Criteria: admin.Criteria{Campaign: r.Campaign, Tenant: r.Tenant,
		Domain: r.Domain, RoutingDomain: r.RoutingDomain, QueueNames: r.QueueNames}, Reason: r.Reason,
		Expires: dueTime(r.Expires), SuppressLogging: r.SuppressLogging, Added: dueTime(r.Added)}
}

// report is this member's answer to a QueuesRequest: with summary, only the counts; with bounces,
// only the messages this member's queues bounced through each bounce rule.
func (s *System) report(ctx context.Context, req *wire.QueuesRequest) *wire.QueuesReply {
	detail, summary := req.GetDetail(), req.GetSummary()
	r := &wire.QueuesReply{Queued: s.metrics.Queued.Load()}
	if c := s.opts.Cluster; c != nil {
		r.Member, r.Incarnation = c.Self.ID, c.Self.Incarnation
	}
	if req.GetBounces() {
		for _, e := range s.admin.List(admin.Bounce, s.opts.Clock.Now()) {
			if len(e.Counts) > 0 {
				r.Bounces = append(r.Bounces, &wire.BounceCounts{Id: e.ID, Queues: e.Counts})
			}
		}
		return r
	}
	if summary {
		r.OwnedQueues = int64(len(s.router.Queues()))
		return r
	}
	r.Queues = s.snapshots(ctx, detail)
	r.OwnedQueues = int64(len(r.Queues))
	for _, q := range r.Queues {
		q.Owner = r.Member
	}
	for _, b := range s.Breakers(ctx) {
		r.Breakers = append(r.Breakers, &wire.BreakerStats{Destination: b.Destination, State: b.State, Opened: b.Opened,
			Closed: b.Closed})
	}
	return r
}

// AdminList lists the active bounces or suspensions. On a cluster member every member holds every
// rule, and each counts the messages its own queues bounced: a bounce's Counts are then the sum
// over the members that answered within 2 s (or ctx).
func (s *System) AdminList(ctx context.Context, kind admin.Kind) []admin.Entry {
	entries := s.admin.List(kind, s.opts.Clock.Now())
	if s.cluster == nil || kind != admin.Bounce || len(entries) == 0 {
		return entries
	}
	byID := make(map[string]*admin.Entry, len(entries))
	for i := range entries {
		byID[entries[i].ID] = &entries[i]
	}
	for _, a := range s.ask(ctx, &wire.QueuesRequest{Bounces: true}) {
		if a.reply == nil || a.ID == s.cluster.self { // this member's counts are in entries already
			continue
		}
		for _, b := range a.reply.GetBounces() {
			e := byID[b.GetId()]
			if e == nil {
				continue // a rule this member does not hold (yet): the resync brings it
			}
			if e.Counts == nil {
				e.Counts = map[string]uint64{}
			}
			for q, n := range b.GetQueues() {
				e.Counts[q] += n
			}
		}
	}
	return entries
}

// memberAnswer is one member's reply to a question of the admin API, or why there is none.
type memberAnswer struct {
	Member
	reply *wire.QueuesReply
	err   string
}

// ask puts a QueuesRequest to every member of the current view, this one included (answered here),
// and waits for their answers: at most askTimeout, or until ctx's deadline. A member whose address
// takes no connection is not sent the request (hollywood's remote stalls dialing it).
func (s *System) ask(ctx context.Context, req *wire.QueuesRequest) []memberAnswer {
	members := s.cluster.members()
	timeout := askTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(d)), time.Millisecond)
	}
	deadline := time.Now().Add(timeout)
	out := make([]memberAnswer, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		a := &out[i]
		a.Member = m
		switch {
		case m.ID == s.cluster.self:
			wg.Go(func() {
				local, cancel := context.WithTimeout(ctx, timeout)
				defer cancel()
				a.reply = s.report(local, req)
			})
		case m.Addr == "":
			a.err = "no address known for this member"
		default:
			wg.Go(func() {
				if !reachable(m.Addr, true) {
					a.err = "nothing listens at " + m.Addr
					return
				}
				res, err := s.engine.Request(adminPID(m.Addr), req, max(time.Until(deadline), time.Millisecond)).Result()
				reply, ok := res.(*wire.QueuesReply)
				switch {
				case err != nil:
					a.err = "no answer within " + timeout.String()
				case !ok:
					a.err = "an unexpected answer"
				default:
					a.reply = reply
				}
			})
		}
	}
	wg.Wait()
	return out
}

// members are the members of this member's current view with their addresses, sorted by ID.
func (c *clusterRouter) members() []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := c.table.View()
	out := make([]Member, len(v.Members))
	for i, m := range v.Members {
		out[i] = Member{ID: m.ID, Addr: c.addrs[m.ID], Incarnation: m.Incarnation}
	}
	return out
}

// OwnedQueue is a queue with the cluster member that owns it (empty on a single node).
type OwnedQueue struct {
	QueueStats
	Owner string `json:"owner,omitempty"`
}

// MemberBreaker is a destination's circuit breaker on one member (empty on a single node): each
// member has its own breaker per destination, for the queues it delivers.
type MemberBreaker struct {
	BreakerStats
	Member string `json:"member,omitempty"`
}

// Silent is a member of the view that did not answer the admin API's question.
type Silent struct {
	Member string `json:"member"`
	Error  string `json:"error"`
}

// ClusterQueues is every queue of every member of the view.
type ClusterQueues struct {
	Queues   []OwnedQueue
	Breakers []MemberBreaker
	Silent   []Silent // members that did not answer in time; their queues are missing
}

// ClusterQueues describes every queue of every live member (with detail: each queue's oldest
// message age and attempts histogram), sorted by name, each with its owner; the breakers of every
// member, sorted by destination; and the members that did not answer within 2 s (or ctx). On a
// single node it is this node's queues and breakers, without owner or member.
func (s *System) ClusterQueues(ctx context.Context, detail bool) ClusterQueues {
	out := ClusterQueues{Queues: []OwnedQueue{}}
	if s.cluster == nil {
		for _, q := range s.Queues(ctx, detail) {
			out.Queues = append(out.Queues, OwnedQueue{QueueStats: q})
		}
		for _, b := range s.Breakers(ctx) {
			out.Breakers = append(out.Breakers, MemberBreaker{BreakerStats: b})
		}
		return out
	}
	for _, a := range s.ask(ctx, &wire.QueuesRequest{Detail: detail}) {
		if a.reply == nil {
			out.Silent = append(out.Silent, Silent{Member: a.ID, Error: a.err})
			continue
		}
		for _, q := range a.reply.Queues {
			out.Queues = append(out.Queues, OwnedQueue{QueueStats: queueStats(q), Owner: a.ID})
		}
		for _, b := range a.reply.Breakers {
			out.Breakers = append(out.Breakers, MemberBreaker{BreakerStats: BreakerStats{Destination: b.Destination,
				State: b.State, Opened: b.Opened, Closed: b.Closed}, Member: a.ID})
		}
	}
	sort.SliceStable(out.Queues, func(i, j int) bool {
		a, b := out.Queues[i], out.Queues[j]
		return a.Name < b.Name || a.Name == b.Name && a.Owner < b.Owner
	})
	sort.SliceStable(out.Breakers, func(i, j int) bool {
		a, b := out.Breakers[i], out.Breakers[j]
		return a.Destination < b.Destination || a.Destination == b.Destination && a.Member < b.Member
	})
	return out
}

// ClusterStatus is a cluster member's view of the cluster.
type ClusterStatus struct {
	Self    string
	Epoch   uint64 // this member's count of membership changes
	View    uint64 // the ID of the current view (the same on members that agree on it)
	Members []ClusterMember
	// Pending are the peers whose release of the current view this member still waits for: until
	// then it delivers none of the queues it gained in it.
	Pending []string
}

// ClusterMember is one member of the view, with the figures it answered.
type ClusterMember struct {
	ID          string
	Address     string
	Incarnation uint64
	// State is "self", "live" (it answered), or "silent" (in the view, but no answer in time;
	// Error says why, and its figures are 0).
	State       string
	OwnedQueues int   // queues it owns that have a queue actor there
	Queued      int64 // messages it holds, in its queues and its forwarders
	Error       string
}

// ClusterStatus describes the cluster as this member sees it, asking every other member of the
// view for its figures (2 s at most, or ctx); false on a single node.
func (s *System) ClusterStatus(ctx context.Context) (ClusterStatus, bool) {
	if s.cluster == nil {
		return ClusterStatus{}, false
	}
	s.cluster.mu.Lock()
	v, pending := s.cluster.table.View(), s.cluster.table.Pending()
	s.cluster.mu.Unlock()
	st := ClusterStatus{Self: s.cluster.self, Epoch: v.Epoch, View: v.ID, Pending: pending}
	if st.Pending == nil {
		st.Pending = []string{}
	}
	for _, a := range s.ask(ctx, &wire.QueuesRequest{Summary: true}) {
		m := ClusterMember{ID: a.ID, Address: a.Addr, Incarnation: a.Incarnation, State: "live", Error: a.err}
		switch {
		case a.ID == st.Self:
			m.State = "self"
		case a.reply == nil:
			m.State = "silent"
		}
		if a.reply != nil {
			m.OwnedQueues, m.Queued = int(a.reply.OwnedQueues), a.reply.Queued
		}
		st.Members = append(st.Members, m)
	}
	slices.SortFunc(st.Members, func(a, b ClusterMember) int { return strings.Compare(a.ID, b.ID) })
	return st, true
}
