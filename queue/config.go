package queue

import (
	"math"
	"time"

	"github.com/hookd/hookd/throttle"
)

// Defaults of a queue and of its egress path, as KumoMTA documents them.
const (
	DefaultRetryInterval              = 20 * time.Minute
	DefaultMaxAge                     = 7 * 24 * time.Hour
	DefaultRefreshInterval            = time.Minute
	DefaultConnectionLimit            = 32
	DefaultMaxDeliveriesPerConnection = 1024
	DefaultIdleTimeout                = 5 * time.Second
)

// Config is what the core needs to know about a queue: its retry schedule and the limits of the path
// its sessions take. The Lua layer fills it from make_queue_config and make_egress_path.
type Config struct {
	RetryInterval    time.Duration // base delay before the first retry
	MaxRetryInterval time.Duration // cap of the doubling delay; 0 means uncapped
	MaxAge           time.Duration // a message whose next attempt would fall past this age expires

	// Deliverable is false when the queue's protocol cannot deliver in hookd (SMTP, the default).
	// Due messages of such a queue fail transiently instead of being handed to sessions.
	Deliverable bool
	// BatchSize is the largest batch handed to one send call (1 = send, >1 = send_batch).
	BatchSize int
	// MinBatchSize is the smallest batch sent before MaxBatchLatency has passed since its oldest
	// message became ready (KumoMTA's min_batch_size, max_batch_latency). The wait never exceeds
	// IdleTimeout.
	MinBatchSize    int
	MaxBatchLatency time.Duration

	// MessageRate throttles moving due messages to the ready set (queue max_message_rate); a
	// throttled message waits the throttle's delay without spending an attempt. Zero: none.
	MessageRate throttle.Spec
	// PathRate throttles batches handed to sessions (egress path max_message_rate). Zero: none.
	PathRate throttle.Spec

	ConnectionLimit            int           // most sessions open at once
	MaxDeliveriesPerConnection int           // a session closes after this many messages
	IdleTimeout                time.Duration // a session with nothing to do closes after this long
}

// DefaultConfig returns KumoMTA's defaults (which cannot deliver in hookd: no custom_lua protocol).
func DefaultConfig() Config {
	return Config{
		RetryInterval:              DefaultRetryInterval,
		MaxAge:                     DefaultMaxAge,
		BatchSize:                  1,
		MinBatchSize:               1,
		ConnectionLimit:            DefaultConnectionLimit,
		MaxDeliveriesPerConnection: DefaultMaxDeliveriesPerConnection,
		IdleTimeout:                DefaultIdleTimeout,
	}
}

// normalized replaces values that would stall the core with the smallest workable ones.
func (c Config) normalized() Config {
	if c.BatchSize < 1 {
		c.BatchSize = 1
	}
	c.MinBatchSize = min(max(c.MinBatchSize, 1), c.BatchSize)
	if c.ConnectionLimit < 1 {
		c.ConnectionLimit = 1
	}
	if c.MaxDeliveriesPerConnection < 1 {
		c.MaxDeliveriesPerConnection = 1
	}
	return c
}

// maxDelaySecs keeps a delay in seconds representable as a time.Duration.
const maxDelaySecs = math.MaxInt64/int64(time.Second) - 1

// BaseDelay is the delay before the attempt that follows `attempts` earlier ones, without jitter:
// retry_interval doubled once per earlier attempt, in whole seconds, capped by max_retry_interval.
// The first retry (attempts = 0) waits retry_interval itself.
func (c Config) BaseDelay(attempts uint16) time.Duration {
	secs := int64(c.RetryInterval / time.Second)
	for i := uint16(0); i < attempts && secs > 0 && secs < maxDelaySecs; i++ {
		secs *= 2
	}
	if secs > maxDelaySecs {
		secs = maxDelaySecs
	}
	if c.MaxRetryInterval > 0 {
		if limit := int64(c.MaxRetryInterval / time.Second); secs > limit {
			secs = limit
		}
	}
	return time.Duration(secs) * time.Second
}

// JitterRange is the half-width m/2 of the jitter added to every retry: m is a twentieth of
// retry_interval, at most 60 s. It depends on retry_interval, not on the capped delay.
func (c Config) JitterRange() time.Duration {
	return time.Duration(float64(jitterSpan(c.RetryInterval)) / 2 * float64(time.Second))
}

func jitterSpan(retry time.Duration) float32 {
	m := float32(retry.Seconds()) / 20
	if m > 60 {
		m = 60
	}
	return m
}

// RetryDelay is the delay before the next attempt of a message that has failed `attempts` times
// before this failure: BaseDelay plus a jitter of r*m - m/2 seconds truncated toward zero, where r is
// uniform in [0, 1). Taking r as an argument keeps the schedule reproducible in tests.
func (c Config) RetryDelay(attempts uint16, r float64) time.Duration {
	m := jitterSpan(c.RetryInterval)
	jitter := int64(float32(r)*m - m/2)
	d := c.BaseDelay(attempts) + time.Duration(jitter)*time.Second
	if d < 0 {
		d = 0
	}
	return d
}
