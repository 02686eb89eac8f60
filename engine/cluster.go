package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/cluster"
	"github.com/anthdm/hollywood/remote"

	"github.com/hookd/hookd/actors"
	"github.com/hookd/hookd/membership"
	"github.com/hookd/hookd/ownership"
)

// ClusterConfig makes an Engine one member of a hookd cluster. Members find each other from Peers
// and form one hollywood cluster; each queue has exactly one owner among the live members, chosen
// by rendezvous hashing of its name over their IDs. Records and messages given to any member are
// decided there, made durable there, and handed to their queue's owner, which alone delivers the
// queue. A member that stops answering is declared dead after DeadAfter and its queues get new
// owners; what its spool holds waits for it, and when it comes back (with the same spool) it hands
// every message whose queue it no longer owns to the owner. Stop hands everything over before it
// returns.
type ClusterConfig struct {
	// ID is this member's name, unique in the cluster (hookd run --cluster-id).
	ID string
	// Listen is the host:port of this member's cluster transport (--cluster-listen); the other
	// members reach it at exactly this address, so it must not be an unspecified one like 0.0.0.0.
	Listen string
	// Peers are the Listen addresses of other members (--cluster-peers); this member's own may be
	// among them.
	Peers []string
	// Heartbeat is how often members tell each other they are alive (default 500ms).
	Heartbeat time.Duration
	// DeadAfter is how long a silent member stays in the cluster before its queues move (default
	// 5s).
	DeadAfter time.Duration
	// JoinTimeout bounds how long Start waits for the peers to answer; when none did, Start fails
	// (default 30s).
	JoinTimeout time.Duration
}

// clusterNode is an engine's part in a cluster: the membership, hollywood's cluster on the actor
// engine whose remote carries every message between members, and the first view's arrival.
type clusterNode struct {
	cfg     ClusterConfig
	remote  *remote.Remote
	engine  *actor.Engine
	members *membership.Membership
	hcl     *cluster.Cluster
	joined  chan struct{} // closed at the first view
	fatal   chan error    // the membership's fatal error, once
}

// newClusterNode starts the transport: the remote listens from here on.
func newClusterNode(cfg ClusterConfig) (*clusterNode, error) {
	if cfg.ID == "" || cfg.Listen == "" {
		return nil, errors.New("hookd: cluster: a member needs an ID (--cluster-id) and a listen address (--cluster-listen)")
	}
	e, r, err := membership.NewEngine(cfg.Listen, remote.NewConfig())
	if err != nil {
		return nil, fmt.Errorf("hookd: cluster: member %q: %w", cfg.ID, err)
	}
	return &clusterNode{cfg: cfg, remote: r, engine: e, joined: make(chan struct{}), fatal: make(chan error, 1)}, nil
}

// options are what the actors need to be this member.
func (n *clusterNode) options(incarnation uint64) *actors.ClusterOptions {
	return &actors.ClusterOptions{Self: ownership.Member{ID: n.cfg.ID, Incarnation: incarnation}, Engine: n.engine,
		Release: func(view uint64) {
			if n.members != nil {
				n.members.Release(view)
			}
		}}
}

// join starts the membership and waits for the first view (or a fatal error, or ctx).
func (n *clusterNode) join(ctx context.Context, e *Engine, sys *actors.System, incarnation uint64) error {
	first := true
	m, err := membership.New(membership.Config{ID: n.cfg.ID, Addr: n.cfg.Listen, Peers: n.cfg.Peers,
		PolicyHash: e.policy.Hash(), Incarnation: incarnation, Heartbeat: n.cfg.Heartbeat,
		DeadAfter: n.cfg.DeadAfter, JoinTimeout: n.cfg.JoinTimeout, Clock: e.cfg.Clock,
		OnView: func(v membership.View) {
			ms := make([]actors.Member, len(v.Members))
			for i, m := range v.Members {
				ms[i] = actors.Member{ID: m.ID, Addr: m.Addr, Incarnation: m.Incarnation}
			}
			sys.ApplyMembers(ms)
			if first {
				first = false
				close(n.joined)
			}
		},
		OnFatal: func(err error) {
			select {
			case n.fatal <- err:
			default:
			}
		},
		OnReleased: sys.PeerReleased,
	})
	if err != nil {
		return err
	}
	n.members = m
	hcl, err := cluster.New(cluster.NewConfig().WithEngine(n.engine).WithID(n.cfg.ID).WithListenAddr(n.cfg.Listen).
		WithProvider(m.Provider()))
	if err != nil {
		return fmt.Errorf("hookd: cluster: member %q: %w", n.cfg.ID, err)
	}
	n.hcl = hcl
	hcl.Start()
	select {
	case <-n.joined:
		return nil
	case err := <-n.fatal:
		n.fatal <- err
		return err
	case <-ctx.Done():
		return fmt.Errorf("hookd: cluster: member %q: joining: %w", n.cfg.ID, ctx.Err())
	}
}

// leave stops taking work, tells the others this member goes, then hands everything it holds to
// them.
func (n *clusterNode) leave(ctx context.Context, sys *actors.System) error {
	return sys.Leave(ctx, func() {
		if n.members != nil {
			n.members.Leave()
		}
	})
}

// stop ends the membership and the transport.
func (n *clusterNode) stop() {
	if n.hcl != nil {
		n.hcl.Stop()
	}
	n.remote.Stop().Wait()
}

// Failed is closed over errors that end this member's part in a cluster (another member uses its
// ID, runs another policy, speaks another protocol version, or no peer answered): the node should
// stop. It never yields for an engine that is not a cluster member.
func (e *Engine) Failed() <-chan error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cluster == nil {
		return nil
	}
	return e.cluster.fatal
}
