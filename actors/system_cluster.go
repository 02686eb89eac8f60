package actors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/anthdm/hollywood/actor"
)

// A System that is one member of a cluster (Options.Cluster): the wiring of its cluster router, its
// forwarders and its handover receiver, and what the membership tells it.

// handoverTimeout bounds the wait for an owner's answer to a handover.
const handoverTimeout = 10 * time.Second

func newEngine(opts Options) (*actor.Engine, error) {
	if opts.Cluster != nil {
		if opts.Cluster.Engine == nil {
			return nil, errors.New("actors: a cluster member needs the engine of its remote")
		}
		return opts.Cluster.Engine, nil
	}
	return actor.NewEngine(actor.NewEngineConfig())
}

// spawnForwarder starts a forwarder (the forwards directory's spawn function).
func (s *System) spawnForwarder(name, id string, home QueueHome) (*actor.PID, error) {
	p := ForwardPorts{Home: home, Owners: s.cluster, Router: s.cluster, Loader: s.spool, Store: s.spool,
		Inserts: s.inserts, Metrics: s.metrics, Send: s.send, Clock: s.opts.Clock, Log: s.log,
		Self: s.opts.Cluster.Self.ID, Timeout: handoverTimeout, Reachable: reachable, Stop: s.clusterStop}
	l, err := s.loop("forward", id, newForwarder(name, p))
	if err != nil {
		return nil, err
	}
	s.fwdMu.Lock()
	s.fwdLoops[l] = struct{}{}
	s.fwdMu.Unlock()
	go func() {
		<-l.Done()
		s.fwdMu.Lock()
		delete(s.fwdLoops, l)
		s.fwdMu.Unlock()
	}()
	return l.pid, nil
}

// reachable says whether a handover may be sent to addr: always, unless the caller suspects it (its
// last handover got no answer), then only if a TCP connection of our own finds something listening
// there within half a second. (Sends to an address whose connection dropped are held back by the
// transport itself: membership.NewEngine.)
func reachable(addr string, suspect bool) bool {
	if !suspect {
		return true
	}
	conn, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// spawnHandover starts the handover receiver and the admin actor of a cluster member.
func (s *System) spawnHandover() error {
	if s.cluster == nil {
		return nil
	}
	l, err := s.loop(HandoverKind, HandoverID, &handoverReceiver{p: HandoverPorts{Owners: s.cluster, Spool: s.spool,
		Router: s.cluster, Send: s.send, Metrics: s.metrics, Accepting: s.Accepting, Has: s.spool.Has, Log: s.log}})
	if err != nil {
		return err
	}
	s.handover = l
	s.spawnAdmin()
	return nil
}

// ApplyMembers takes the live members of the cluster, this one included, as the membership reports
// them. Queues whose owner changed move.
func (s *System) ApplyMembers(members []Member) {
	if s.cluster != nil {
		s.cluster.apply(members)
		s.syncAdmin(members)
		s.log.Info("cluster membership", "member", s.opts.Cluster.Self.ID, "view", s.cluster.describe())
	}
}

// PeerReleased takes another member's word that it released a view of the membership.
func (s *System) PeerReleased(peer string, view uint64) {
	if s.cluster != nil {
		s.cluster.peerReleased(peer, view)
	}
}

// Leave hands everything this member holds to the other members and returns once they have it (no
// message left here), or with ctx's error. Intake, and handovers from others, are refused from the
// start; once the handovers already taken are answered, announce tells the others that this member
// leaves (so none of them waits for an answer that will not come). A member with no other member
// left keeps what it holds in its spool, as a single node does.
func (s *System) Leave(ctx context.Context, announce func()) error {
	if s.cluster == nil {
		return nil
	}
	s.leaving.Store(true)
	if s.handover != nil { // everything the receiver took before is answered once it answers this
		_, _ = s.engine.Request(s.handover.pid, handoverSync{}, 10*time.Second).Result()
	}
	if announce != nil {
		announce()
	}
	if s.cluster.alone() {
		return nil // nobody to hand over to: the spool keeps everything, and the queues stay as they are
	}
	s.cluster.leave()
	started := time.Now()
	next := started.Add(time.Second)
	for s.metrics.Queued.Load() > 0 && !s.cluster.alone() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("leaving the cluster with %d messages not handed over (they stay in the spool; %s): %w",
				s.metrics.Queued.Load(), s.cluster.holding(), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
		if now := time.Now(); now.After(next) { // an operator waiting for the drain sees it move
			next = now.Add(time.Second)
			s.log.Info("leaving the cluster: handing messages over", "member", s.opts.Cluster.Self.ID,
				"messages", s.metrics.Queued.Load(), "holding", s.cluster.holding(),
				"for", now.Sub(started).Round(time.Millisecond))
		}
	}
	return nil
}

// ActorEngine is the actor engine (its remote is the cluster's transport).
func (s *System) ActorEngine() *actor.Engine { return s.engine }

// stopCluster stops the forwarders, the queue actors still handing over and the handover receiver.
func (s *System) stopCluster(ctx context.Context) {
	if s.cluster == nil {
		return
	}
	close(s.clusterStop)
	s.forwards.close(ErrStopped)
	for _, ref := range s.router.retiredRefs() { // they may be stopping themselves meanwhile
		ref.stop(ctx, s.engine)
	}
	s.fwdMu.Lock()
	loops := make([]*loop, 0, len(s.fwdLoops))
	for l := range s.fwdLoops {
		loops = append(loops, l)
	}
	s.fwdMu.Unlock()
	for _, l := range loops {
		stopLoop(ctx, l)
	}
	if s.handover != nil {
		stopLoop(ctx, s.handover)
	}
	if s.adminPID != nil {
		waitDone(ctx, s.engine.Poison(s.adminPID))
	}
}
