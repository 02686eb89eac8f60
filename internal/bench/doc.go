// Package bench is `hookd bench`, a load generator for the whole pipeline: synthetic KumoMTA log
// records go into an engine (in this process, or a `hookd run` node through POST /api/log/v1), its
// policy delivers them to a loopback webhook receiver, and the run reports what that cost.
//
//	Generator ──records──► workers ──Engine.Log / POST /api/log/v1──► hookd ──webhook POSTs──► Receiver
//	 (seq → record,        (Concurrency, Rate)    accepted[seq] = when the call returned      first[seq] = receipt
//	  deterministic)                                                                          count[seq]++
//
// Each record carries its sequence number in the X-Bench-Seq header, which the built-in policies
// (and examples/webhook/policy.lua) copy into the webhook body; the receiver finds it with a byte
// scan, without decoding, and decodes every N-th request in full to check the records. Latency is
// receipt time minus the time the call that accepted the record returned, both on this process's
// monotonic clock. A phase ends when every record the policy kept has arrived.
//
// Figures per phase: records/s accepted and delivered end to end, exact latency percentiles (nearest
// rank over every record), CPU seconds per thousand records (getrusage user + system of the whole
// process: generator, engine and receiver alike), peak RSS (VmRSS sampled every 50ms), attempts per
// record, duplicates and missing records. The baseline phase posts the same bodies with a plain Go
// HTTP client, so that hookd's figures can be read as multiples of the cost of just sending them.
//
// With Config.Cluster a cluster phase follows the hookd phase: the same records offered in turn to
// the members of a cluster of engines in this process, so that most are forwarded from the member
// that took them to their queue's owner. ClusterFigures compares it with the single node: delivered/s
// as a ratio, and the CPU a forwarded record costs, (cluster CPU per record - single-node CPU per
// record) / fraction of records forwarded, from the same getrusage figures.
package bench
