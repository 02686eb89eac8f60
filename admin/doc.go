// Package admin is the state behind KumoMTA's admin bounce and suspend
// APIs (/api/admin/bounce/v1 and /api/admin/suspend/v1, SPEC-kumomta.md
// §11): request parsing, a registry of active entries, the matching rules
// and the response bodies. It reads no clock: every call that depends on
// time takes now. The HTTP handlers and the queue actors that use it live
// elsewhere.
//
//	POST body ──ParseBounceRequest/ParseSuspendRequest(b, now)──▶ request
//	      │                                                         │
//	      │                       Registry.Add(kind, criteria, …, now) ◀┘
//	      ▼                                 │
//	{"id":…} ◀──NewBounceResponse/SuspendResponse                   │
//	                                        ▼
//	GET  ──Registry.List(kind, now)──▶ BounceList/SuspendList(entries, now)
//	DELETE ──ParseCancelRequest──▶ Registry.Cancel(id) ──▶ CancelResponse
//
//	another member's Entry ──Registry.Put(e, now)    (same ID, Added, Expires)
//	another member's DELETE ──Registry.Revoke(id, now)
//
//	queue actor ──QueueCache.Bounce/Suspended(registry, queue, now)──▶ *Entry
//	      └── after bouncing a message: Registry.CountBounce(entry.ID, queue)
//
// The handlers' contract:
//
//  1. Parse the body with the time of the request; a *RequestError names
//     the field at fault (answer 400).
//  2. Add with zero duration and the request's resolved Expires, which
//     already holds "expires", "duration" or the 5 minute default.
//  3. Answer with the new entry's id. Draining queues that already hold
//     matching messages is the queue actors' job.
//  4. For DELETE, Cancel returns false for an unknown id (answer 404).
//
// The queue actors' contract:
//
//  1. Ask at insert, at promotion and when popping a message, with the
//     scheduled queue's name. Bounce wins over Suspended.
//  2. Keep one QueueCache per queue: it asks the Registry again only after
//     an Add or Cancel (Generation) or when the cached entry expires.
//  3. For each message bounced, log AdminBounce 551 5.7.1 "Administrator
//     bounced with reason: <Reason>" unless SuppressLogging, then call
//     CountBounce so that GET shows per-queue counts.
//  4. For a suspension, fail the message transiently with 451 4.4.4
//     "KumoMTA internal: scheduled queue is suspended: <Reason>" and requeue.
package admin
