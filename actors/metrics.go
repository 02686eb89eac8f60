package actors

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Collector exposes the system's figures to Prometheus, with KumoMTA's metric names where one
// applies. It reads the running totals and asks every queue for its figures at scrape time, so the
// delivery path pays nothing for metrics.
type Collector struct {
	sys   *System
	extra []func(ch chan<- prometheus.Metric) // more figures (the spool's), added by the engine
}

// Collector returns the system's Prometheus collector.
func (s *System) Collector() *Collector { return &Collector{sys: s} }

// Add registers more figures to report with the system's.
func (c *Collector) Add(fn func(ch chan<- prometheus.Metric)) { c.extra = append(c.extra, fn) }

// Describe sends nothing: the metric set depends on the queues that exist (an unchecked collector).
func (c *Collector) Describe(chan<- *prometheus.Desc) {}

var (
	descSubmitFull   = desc("log_submit_full", "Times a producer found a logger's queue full and had to wait.", "logger")
	descBacklog      = desc("log_hook_backlog_count", "Records a log hook holds (taken from producers, not yet decided).", "logger")
	descHookErrors   = desc("log_hook_errors_total", "Records lost to an error in should_enqueue_log_record.", "hook")
	descHookReceived = desc("hookd_log_hook_records_total", "Records offered to a log hook, by what became of them.", "hook", "outcome")
	descScheduled    = desc("scheduled_count", "Messages in a scheduled queue waiting for their due time.", "queue")
	descScheduledAll = desc("scheduled_count_total", "Messages waiting for their due time, all queues.")
	descQueues       = desc("scheduled_queue_count", "Scheduled queues.")
	descReady        = desc("ready_count", "Messages due and waiting for a session.", "service")
	descConns        = desc("connection_count", "Open delivery sessions.", "service")
	descDelivered    = desc("total_messages_delivered", "Messages delivered.", "service")
	descTransfail    = desc("total_messages_transfail", "Transient delivery failures.", "service")
	descFail         = desc("total_messages_fail", "Messages bounced by the delivery.", "service")
	descExpired      = desc("hookd_messages_expired_total", "Messages that expired in a queue.", "queue")
	descDeferred     = desc("hookd_queue_deferred", "Due messages held because the destination's circuit breaker is open.", "queue")
	descBreaker      = desc("hookd_breaker_state", "Circuit breaker state: 0 closed, 1 half-open, 2 open.", "destination")
	descBreakerOpen  = desc("hookd_breaker_opened_total", "Times a destination's circuit breaker opened.", "destination")
	descBreakerClose = desc("hookd_breaker_closed_total", "Times a destination's circuit breaker closed again.", "destination")
	descQueued       = desc("hookd_messages_queued", "Messages held by queues now.")
	descPanics       = desc("hookd_actor_panics_total", "Panics recovered inside actors.")
	descInserts      = desc("hookd_insert_backlog", "Messages on their way from hooks into queues.")
	descInterrupted  = desc("hookd_lua_interrupted_total", "Calls into the policy stopped at their deadline.")
)

// A cluster member's figures (only a member reports them).
var (
	descMembers  = desc("hookd_cluster_members", "Members of the cluster in this member's view, itself included.")
	descOwned    = desc("hookd_cluster_owned_queues", "Queues this member owns that have a queue actor here.")
	descHandover = desc("hookd_cluster_handover_messages_total",
		"Messages handed over between members: out, to their queue's owner (once it had them durable); in, from other members.",
		"direction")
	descHandBytes = desc("hookd_cluster_handover_bytes_total",
		"Bytes of meta and body of the messages this member handed over to their queue's owner.")
	descHandedAgain = desc("hookd_cluster_handover_repeated_total",
		"Messages handed over to this member that it held already (an earlier answer was lost): taken without storing or queueing them again.")
	descRoutedAway = desc("hookd_cluster_forwarded_records_total",
		"Messages made here (a hook kept a record, or an injection) whose queue another member owns, counted when routed to this member's forwarder of the queue.")
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// Collect reports every figure.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.sys
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, h := range s.intake.hooks {
		counter(descSubmitFull, h.credits.Waits()+h.credits.Forced(), "hook-"+h.cfg.Name)
		gauge(descBacklog, float64(h.credits.InUse()), h.cfg.Name)
		counter(descHookErrors, h.counts.errors.Load(), h.cfg.Name)
		for outcome, v := range map[string]uint64{"received": h.counts.received.Load(), "disabled": h.counts.disabled.Load(),
			"kept": h.counts.kept.Load(), "dropped": h.counts.dropped.Load()} {
			counter(descHookReceived, v, h.cfg.Name, outcome)
		}
	}
	for _, l := range s.intake.locals {
		counter(descSubmitFull, l.credits.Waits()+l.credits.Forced(), "dir-"+l.cfg.LogDir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var scheduled int
	var all [3]uint64
	for _, q := range s.Queues(ctx, false) {
		scheduled += q.Scheduled
		gauge(descScheduled, float64(q.Scheduled), q.Name)
		counter(descExpired, q.Expired, q.Name)
		deferred := 0
		if q.Gate == "paused" {
			deferred = q.Ready
		}
		gauge(descDeferred, float64(deferred), q.Name)
		if q.Site == "" {
			continue
		}
		service := "lua:" + q.Site
		gauge(descReady, float64(q.Ready), service)
		gauge(descConns, float64(q.Sessions), service)
		counter(descDelivered, q.Delivered, service)
		counter(descTransfail, q.Transient, service)
		counter(descFail, q.Bounced, service)
		all[0], all[1], all[2] = all[0]+q.Delivered, all[1]+q.Transient, all[2]+q.Bounced
	}
	counter(descDelivered, all[0], "lua")
	counter(descTransfail, all[1], "lua")
	counter(descFail, all[2], "lua")
	gauge(descScheduledAll, float64(scheduled))
	gauge(descQueues, float64(len(s.router.Queues())))
	for _, b := range s.Breakers(ctx) {
		state := map[string]float64{"closed": 0, "half-open": 1, "open": 2}[b.State]
		gauge(descBreaker, state, b.Destination)
		counter(descBreakerOpen, b.Opened, b.Destination)
		counter(descBreakerClose, b.Closed, b.Destination)
	}
	gauge(descQueued, float64(s.metrics.Queued.Load()))
	counter(descPanics, s.metrics.Panics.Load())
	gauge(descInserts, float64(s.inserts.InUse()))
	counter(descInterrupted, s.metrics.Interrupted.Load())
	if s.cluster != nil {
		gauge(descMembers, float64(len(s.cluster.members())))
		gauge(descOwned, float64(len(s.router.Queues())))
		counter(descHandover, s.metrics.Forwarded.Load(), "out")
		counter(descHandover, s.metrics.HandedIn.Load(), "in")
		counter(descHandBytes, s.metrics.HandedBytes.Load())
		counter(descHandedAgain, s.metrics.HandedAgain.Load())
		counter(descRoutedAway, s.cluster.routedAway.Load())
	}
	for _, fn := range c.extra {
		fn(ch)
	}
}
