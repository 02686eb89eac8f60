// Package throttle reads KumoMTA throttle specs ("100/s", "1,000/h",
// "local:5/5m,max_burst=2") and enforces them with a generic cell rate
// algorithm (GCRA) limiter whose every decision takes the time as an
// argument.
//
// Where it sits (SPEC-kumomta.md §6, max_message_rate):
//
//	queue config text ──Parse──▶ Spec ──NewLimiter──▶ Limiter
//	                                                     │
//	scheduled message (or a batch of n) ──Allow(now, n)──┤
//	                                                     ├─ ok: promote to ready
//	                                                     └─ throttled: requeue at now+retryAfter
//	                                                        (no attempt increment)
//
// The caller's contract:
//
//  1. Parse the spec once, when the queue config is (re)loaded. Parse accepts
//     exactly the syntax KumoMTA's ThrottleSpec accepts, minus the three
//     degenerate forms listed on Parse.
//  2. Keep one Limiter per throttled key (KumoMTA keys its throttles by
//     name, limit, burst and period), owned by one actor: a Limiter is not
//     safe for concurrent use.
//  3. Call Allow with the current time for each message or batch. A refusal
//     changes nothing; retry no earlier than now+retryAfter.
//  4. A batch larger than Spec.Burst can never pass (Allow answers Never):
//     split it.
//
// Semantics: cells are admitted at a steady Limit per Period with bursts of
// up to Burst cells. Over any window of length w, the admitted cells never
// exceed w*Limit/Period + Burst. The arithmetic is exact (integers scaled
// by Limit, so 1/3 s intervals do not drift) and retryAfter is the exact
// nanosecond at which the same request would pass.
package throttle
