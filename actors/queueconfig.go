package actors

import (
	"fmt"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/queue"
)

// resolve runs get_queue_config (and get_egress_path_config) for the queue and turns the result into
// the core's configuration. A failure leaves the queue unable to deliver until a later refresh
// succeeds; its messages wait and are retried on the default schedule, never dropped.
func (q *queueActor) resolve() queue.Config {
	cfg, info, problem, err := q.resolveConfig()
	if err != nil {
		q.sys.log.Error("get_queue_config failed; the queue will not deliver until it succeeds",
			"queue", q.name, "error", err)
		cfg = queue.DefaultConfig()
		problem = fmt.Sprintf("queue %s: configuration failed: %v", q.name, err)
		if q.core != nil { // a failing refresh keeps the configuration in force
			return q.core.Config()
		}
		q.refreshEvery = configRetry
		q.reapInterval = config.DefaultQueue().ReapInterval
	}
	if info != nil {
		q.info = info
	}
	q.problem = problem
	return cfg
}

func (q *queueActor) resolveConfig() (queue.Config, *sessionInfo, string, error) {
	st, err := q.sys.pool.Get()
	if err != nil {
		return queue.Config{}, nil, "", err
	}
	defer q.sys.pool.Put(st)
	qc, err := st.QueueConfig(q.parts)
	if err != nil {
		return queue.Config{}, nil, "", err
	}
	cfg := queue.DefaultConfig()
	cfg.RetryInterval, cfg.MaxRetryInterval, cfg.MaxAge = qc.RetryInterval, qc.MaxRetryInterval, qc.MaxAge
	q.refreshEvery, q.reapInterval = qc.RefreshInterval, qc.ReapInterval
	if qc.Protocol != config.ProtocolCustomLua || qc.CustomLua == nil {
		return cfg, nil, fmt.Sprintf("queue %s has no deliverable protocol: hookd cannot deliver with %q; "+
			"set protocol = { custom_lua = { constructor = ... } } in get_queue_config", q.name, qc.Protocol), nil
	}
	site := q.parts.Domain
	if q.parts.RoutingDomain != nil {
		site = *q.parts.RoutingDomain
	}
	info := &sessionInfo{queue: q.name, parts: q.parts, constructor: qc.CustomLua.Constructor, queuePID: q.pid,
		site: fmt.Sprintf("unspecified->%s@lua:%s", site, qc.CustomLua.Constructor), egressPool: qc.EgressPool,
		batchSize: qc.CustomLua.BatchSize}
	ep, err := st.EgressPath(site, "unspecified", info.site)
	if err != nil {
		return queue.Config{}, nil, "", err
	}
	cfg.Deliverable = true
	cfg.MessageRate, cfg.PathRate = qc.MaxMessageRate, ep.MaxMessageRate
	cfg.BatchSize = qc.CustomLua.BatchSize
	cfg.MinBatchSize = qc.CustomLua.MinBatchSize
	cfg.MaxBatchLatency = qc.CustomLua.MaxBatchLatency
	info.breaker = q.sys.breakers.get(qc.CustomLua.Constructor+" "+info.site, queue.BreakerConfig{
		Failures: uint32(ep.BreakerFailures), OpenFor: ep.BreakerOpenFor, MaxOpenFor: ep.BreakerMaxOpenFor})
	cfg.ConnectionLimit = ep.ConnectionLimit
	cfg.MaxDeliveriesPerConnection = ep.MaxDeliveriesPerConnection
	cfg.IdleTimeout = ep.IdleTimeout
	return cfg, info, "", nil
}

// undeliverable is the TransientFailure of a message its queue could not hand to a session: the
// queue is suspended by an administrator, or has no protocol hookd can deliver with.
func (q *queueActor) undeliverable(m *message.Message, a queue.Undeliverable, now timeT) *message.LogRecord {
	r := q.sys.newRecord(message.TransientFailure, m, a.Attempts, now)
	if q.core.Suspended() {
		r.Response = message.Response{Code: 451, Enhanced: &message.EnhancedCode{Class: 4, Subject: 4, Detail: 4},
			Content: "KumoMTA internal: scheduled queue is suspended: " + q.suspendReason}
		return r
	}
	r.Response = message.Response{Code: 400, Content: q.problem}
	return r
}

// expiration is the Expiration record of a message whose next attempt would pass max_age.
func (q *queueActor) expiration(m *message.Message, a queue.Expire, now timeT) *message.LogRecord {
	r := q.sys.newRecord(message.Expiration, m, a.Item.Attempts, now)
	r.Response = message.Response{Code: 551, Enhanced: &message.EnhancedCode{Class: 5, Subject: 4, Detail: 7},
		Content: a.Response}
	pool := "unspecified"
	if q.info != nil && q.info.egressPool != "" {
		pool = q.info.egressPool
	}
	r.EgressPool = &pool
	return r
}
