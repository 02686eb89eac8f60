package actors

import (
	"fmt"
	"log/slog"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
)

// A policy runner is a loop with a Lua state of its own that answers the policy's configuration
// events for the queues (get_queue_config, get_egress_path_config) and the HTTP listener's
// http_server_validate_auth_basic. Queues never call Lua themselves: a configuration can take up
// to the policy's deadline, and a queue must keep answering meanwhile. There are several runners,
// and each request goes to the least busy one, so one slow call holds up only the requests behind
// it on its runner.
type runner struct {
	p           RunnerPorts
	state       *lua.State
	err         error
	outstanding *atomic.Int64
}

// RunnerPorts are what a policy runner uses.
type RunnerPorts struct {
	Policies Policies
	Log      *slog.Logger
}

// authBasic asks a runner to check HTTP basic credentials (a Request; the answer is a bool).
type authBasic struct{ User, Password string }

func (r *runner) Receive(l *loopCtx, msgs []actor.Envelope) {
	for _, env := range msgs {
		switch m := env.Msg.(type) {
		case actor.Started:
		case actor.Stopped:
			r.state.Close()
			r.state = nil
		case resolveQueue:
			r.ensure()
			l.Send(m.Reply, r.resolve(m))
			r.outstanding.Add(-1)
		case authBasic:
			r.ensure()
			l.Send(env.Sender, r.authBasic(m))
			r.outstanding.Add(-1)
		}
	}
}

// ensure gives the runner a state of the current policy (a new one after a reload, or after a call
// was interrupted).
func (r *runner) ensure() {
	cur := r.p.Policies.Current()
	if r.state != nil && r.state.Policy() == cur && !r.state.Broken() {
		return
	}
	r.state.Close()
	r.state, r.err = cur.NewState()
	if r.err != nil {
		r.p.Log.Error("policy runner cannot load the policy", "error", r.err)
	}
}

func (r *runner) authBasic(m authBasic) bool {
	if r.state == nil {
		r.p.Log.Error("checking HTTP credentials: no Lua state", "error", r.err)
		return false
	}
	ok, err := r.state.ValidateAuthBasic(m.User, m.Password)
	if err != nil {
		r.p.Log.Error("http_server_validate_auth_basic failed; the credentials are refused", "user", m.User, "error", err)
		return false
	}
	return ok
}

// resolve runs get_queue_config (and get_egress_path_config for a deliverable queue) and turns the
// result into the core's configuration and what the queue's sessions need.
func (r *runner) resolve(m resolveQueue) queueResolved {
	out := queueResolved{Queue: m.Queue, Gen: m.Gen}
	if r.state == nil {
		out.Err = fmt.Sprint(r.err)
		return out
	}
	parts := message.ParseQueueName(m.Queue)
	qc, err := r.state.QueueConfig(parts)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	cfg := queue.DefaultConfig()
	cfg.RetryInterval, cfg.MaxRetryInterval, cfg.MaxAge = qc.RetryInterval, qc.MaxRetryInterval, qc.MaxAge
	out.RefreshEvery, out.ReapInterval = qc.RefreshInterval, qc.ReapInterval
	if qc.Protocol != config.ProtocolCustomLua || qc.CustomLua == nil {
		out.Config = cfg
		out.Problem = fmt.Sprintf("queue %s has no deliverable protocol: hookd cannot deliver with %q; "+
			"set protocol = { custom_lua = { constructor = ... } } in get_queue_config", m.Queue, qc.Protocol)
		return out
	}
	site := parts.Domain
	if parts.RoutingDomain != nil {
		site = *parts.RoutingDomain
	}
	info := SessionInfo{Queue: m.Queue, Parts: parts, Constructor: qc.CustomLua.Constructor,
		Site: fmt.Sprintf("unspecified->%s@lua:%s", site, qc.CustomLua.Constructor), EgressPool: qc.EgressPool,
		BatchSize: qc.CustomLua.BatchSize}
	ep, err := r.state.EgressPath(site, "unspecified", info.Site)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	cfg.Deliverable = true
	cfg.MessageRate, cfg.PathRate = qc.MaxMessageRate, ep.MaxMessageRate
	cfg.BatchSize = qc.CustomLua.BatchSize
	cfg.MinBatchSize = qc.CustomLua.MinBatchSize
	cfg.MaxBatchLatency = qc.CustomLua.MaxBatchLatency
	cfg.ConnectionLimit = ep.ConnectionLimit
	cfg.MaxDeliveriesPerConnection = ep.MaxDeliveriesPerConnection
	cfg.IdleTimeout = ep.IdleTimeout
	out.Config, out.Session = cfg, info
	out.Destination = qc.CustomLua.Constructor + " " + info.Site
	out.Breaker = breaker.Config{Failures: uint32(ep.BreakerFailures), OpenFor: ep.BreakerOpenFor, MaxOpenFor: ep.BreakerMaxOpenFor}
	return out
}

// runners is the set of policy runners: the Resolvers port.
type runners struct {
	loops []*loop
	busy  []*atomic.Int64
}

// Pick returns the runner with the fewest requests outstanding and counts one more for it.
func (rs *runners) Pick() *actor.PID {
	best := 0
	for i := range rs.busy {
		if rs.busy[i].Load() < rs.busy[best].Load() {
			best = i
		}
	}
	rs.busy[best].Add(1)
	return rs.loops[best].pid
}

func (rs *runners) stop() {
	for _, l := range rs.loops {
		l.stop()
	}
}
