// Package ownership is the cluster's decision of which member owns each queue, and of when an owner
// may start delivering it. It is pure: no actors, no goroutines, no clock and no I/O. The caller
// feeds it membership changes and the peers' messages, sends the messages it is told to, and asks
// it before starting a delivery session.
//
// # Who owns a queue
//
// A queue is owned by one live member, chosen by rendezvous (highest random weight) hashing over
// the members' IDs: the ID with the greatest weight for the queue wins (see Owner for the exact
// function). Every member computes the same answer from the same set of IDs, on any platform and
// in any version, and a change of membership moves few queues: a member that joins takes queues
// only to itself, and a member that goes gives away only its own queues. Incarnations play no part
// in ownership: a member restarted under the same ID owns what it owned before.
//
// # Views
//
// A View is one membership as a member sees it: the sorted members with their incarnations, an ID
// that every member with the same membership computes alike, and an Epoch that counts this
// member's own changes. A Table holds the current view of one member (Apply) and what its peers
// have said about their views (Released).
//
// # The fencing rule
//
// Two members must never deliver the same queue at once. Ownership alone does not ensure this,
// because members learn of a membership change at different moments: a member that has already
// applied a new view may own a queue that another member, still in the old view, is delivering.
// So:
//
//  1. A member that is not the owner of a queue in its current view never starts a session for it.
//  2. When its view changes, a member stops the sessions of every queue it no longer owns, and then
//     tells every peer of the new view "released view X", X being the new view's ID. The peer
//     passes this to its Table with Released.
//  3. The barrier of a view is complete when every other member of that view has released that
//     exact view ID. A view with no other member has its barrier complete at once.
//  4. An owner may start sessions for a queue only when no other member may still be delivering
//     it: MayDeliver(q) is true if and only if this member owns q in its current view and either
//     (a) the barrier of the current view is complete, or (b) q has been owned by this member in
//     every view since the last view whose barrier completed, that one included.
//
// Rule 4(b) lets a queue that stays with its owner keep delivering across a membership change,
// while a queue the member gained waits for the others' releases: the previous owner might still
// be delivering it until it says it has stopped. A member's first view has no completed barrier
// behind it, so a member that starts (or restarts) delivers nothing until its peers have released
// its first view, or until it is alone.
//
// A release names a view ID, and counts only for the view with that ID. Each Table remembers the
// latest release of each peer, so a release that arrives before the receiver has applied the same
// view still counts once it does; a release of an older view lifts nothing. Once the barrier of a
// view is complete it stays complete for as long as that view is current.
//
// Memory stays bounded. The views since the last completed barrier are kept for rule 4(b), but at
// most 64 of them: past that, 4(b) is taken as false (the conservative answer) until a barrier
// completes again. Releases of peers outside the current view are kept only up to a fixed number.
//
// # What the caller must do
//
// The rule is safe on these conditions, which the package cannot check:
//
//   - A member sends "released X" only for its current view X, and only once every session of a
//     queue it does not own in X has stopped. If its view changes again meanwhile, it sends the
//     release of the newer view instead, once that is true of it.
//   - Releases between two members arrive in the order they were sent.
//   - A member is dropped from the membership only when it has stopped: it crashed, or it called
//     Leave and then stopped every session it had. A member that restarts comes back with a new
//     incarnation, never one it used before.
//   - Every member applies the memberships in the order the membership layer produced them; it
//     may skip some.
//
// A typical loop around a Table:
//
//	on a membership event:   if t.Apply(members) { stop sessions of queues with !t.Owns(q); then
//	                                               send Released(t.View().ID) to the view's others }
//	on "released X" from p:  if t.Released(p, X) { start the queues now t.MayDeliver }
//	before a session of q:   start it only if t.MayDeliver(q)
//	on shutdown:             t.Leave(); stop every session; then leave the membership
package ownership
