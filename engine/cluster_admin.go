package engine

import (
	"context"

	"github.com/hookd/hookd/actors"
)

// QueuesReport is every queue of the cluster, as GET /api/admin/queues/v1 shows it. On a single
// node it is the node's queues and breakers, with no Owner, no Member and no Silent.
type QueuesReport struct {
	Queues   []OwnedQueue    `json:"queues"`
	Breakers []MemberBreaker `json:"breakers"`
	// Silent are the members of the view that did not answer within 2 s: their queues are missing.
	Silent []SilentMember `json:"silent,omitempty"`
}

// OwnedQueue is a queue with the ID of the cluster member that owns it (and delivers it).
type OwnedQueue struct {
	QueueStats
	Owner string `json:"owner,omitempty"`
}

// MemberBreaker is a destination's circuit breaker on one cluster member: each member keeps its
// own, for the queues it delivers.
type MemberBreaker struct {
	BreakerStats
	Member string `json:"member,omitempty"`
}

// SilentMember is a member of the cluster's view that did not answer a question of the admin API.
type SilentMember struct {
	Member string `json:"member"`
	Error  string `json:"error"`
}

// ClusterQueues describes every queue of every live cluster member, each with its owner, sorted by
// name, and every member's breakers; with detail, each queue's oldest message age and attempts
// histogram. A member that does not answer within 2 s (or before ctx's deadline) is listed in
// Silent instead. On a single node it is QueuesDetail (or Queues) and Breakers.
func (e *Engine) ClusterQueues(ctx context.Context, detail bool) QueuesReport {
	sys, err := e.system()
	if err != nil {
		return QueuesReport{}
	}
	r := sys.ClusterQueues(ctx, detail)
	return QueuesReport{
		Queues: convert(r.Queues, func(q actors.OwnedQueue) OwnedQueue {
			return OwnedQueue{QueueStats: QueueStats(q.QueueStats), Owner: q.Owner}
		}),
		Breakers: convert(r.Breakers, func(b actors.MemberBreaker) MemberBreaker {
			return MemberBreaker{BreakerStats: BreakerStats(b.BreakerStats), Member: b.Member}
		}),
		Silent: convert(r.Silent, func(s actors.Silent) SilentMember { return SilentMember(s) }),
	}
}

// ClusterStatus is a cluster member's view of the cluster, as GET /api/admin/cluster/v1 shows it.
type ClusterStatus struct {
	Self string `json:"self"` // this member's ID
	// Epoch is this member's count of membership changes since it started.
	Epoch uint64 `json:"epoch"`
	// View identifies the current set of members (with their incarnations): members that agree on
	// the membership show the same View.
	View    uint64          `json:"view"`
	Members []ClusterMember `json:"members"`
	// PendingRelease are the peers whose release of the current view this member still waits for:
	// until they have released it, it does not deliver the queues it gained in this view.
	PendingRelease []string `json:"pending_release"`
}

// ClusterMember is one member of the view, with the figures it gave.
type ClusterMember struct {
	ID          string `json:"id"`
	Address     string `json:"address"`
	Incarnation uint64 `json:"incarnation"`
	// State is "self", "live" (it answered), or "silent": in the view, but it did not answer within
	// 2 s (Error says so, and its figures are 0).
	State       string `json:"state"`
	OwnedQueues int    `json:"owned_queues"`    // queues it owns (that have a queue there now)
	Queued      int64  `json:"queued_messages"` // messages it holds, its forwarders' included
	Error       string `json:"error,omitempty"`
}

// ClusterStatus describes the cluster as this member sees it, asking every other member for its
// figures (2 s at most, or until ctx's deadline); false when the engine is not a cluster member or
// not started.
func (e *Engine) ClusterStatus(ctx context.Context) (ClusterStatus, bool) {
	sys, err := e.system()
	if err != nil {
		return ClusterStatus{}, false
	}
	st, ok := sys.ClusterStatus(ctx)
	if !ok {
		return ClusterStatus{}, false
	}
	return ClusterStatus{Self: st.Self, Epoch: st.Epoch, View: st.View, PendingRelease: st.Pending,
		Members: convert(st.Members, func(m actors.ClusterMember) ClusterMember { return ClusterMember(m) })}, true
}

// The cluster's figures are the actors' own, field for field.
var (
	_ = ClusterMember(actors.ClusterMember{})
	_ = SilentMember(actors.Silent{})
)
