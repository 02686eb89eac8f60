// Package sink is a webhook receiver for testing hookd: it accepts log
// records POSTed as one JSON object, a JSON array of objects or NDJSON,
// counts them, removes duplicates and reports what it saw.
//
// It backs `hookd sink`, the receiver of `hookd demo`, and the end-to-end
// tests (`hookd bench` has a leaner receiver of its own, internal/bench):
//
//	webhook sender ──POST──► Sink.ServeHTTP ──► parse body ──► dedup key ──► counters
//	                            │  (delay, simulated failure)               │
//	                            ▼                                           ▼
//	                      200 {"accepted":N}           Stats, Received, WaitFor, Report
//
// A request is handled in this order:
//
//  1. the request is counted and its body read (over the size cap: 413);
//  2. Config.Delay is waited out, or the request's context ends it;
//  3. with probability Config.FailRate the request is answered with
//     Config.FailStatus and nothing in it is counted;
//  4. the body is split into records; any malformed record answers 400 with
//     its index and nothing in the request is counted;
//  5. every record is keyed, deduplicated and counted, and the request is
//     answered 200 {"accepted":N}.
//
// GET /stats answers the Stats as JSON.
package sink
