// Package queue is the decision core of a scheduled queue: when a message is due, how long it waits
// after a transient failure, when it expires, how many sessions deliver it and which session gets
// which batch. It does no I/O, reads no clock and starts no goroutines: every method takes the
// current time, and the results are returned as Actions for the caller (the queue actor) to carry out.
//
//	Insert / Tick / Finished / SetConfig / Drain  (events, with the time)
//	        │
//	        ▼
//	      Core ──► []Action: Start, Deliver, Close   (sessions)
//	                         Retry, Expire, Forget   (storage and records)
//	                         Undeliverable           (records)
//	        │
//	        ▼
//	      Wake() — when the caller must call Tick next
//
// The caller's contract:
//  1. Feed every event with the time it happened.
//  2. Carry out the returned actions in order.
//  3. Arrange a call to Tick at Wake(), re-reading Wake after every event.
package queue
