package admin

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/message"
)

// DefaultDuration is how long an entry stays active when the request gives
// neither a duration nor an expiry time.
const DefaultDuration = 5 * time.Minute

// Kind tells bounces from suspensions.
type Kind uint8

// The kinds of admin entry.
const (
	// Bounce entries make matching messages fail permanently (AdminBounce,
	// 551 5.7.1) at insert, at promotion and when popped.
	Bounce Kind = iota + 1
	// Suspend entries hold matching scheduled queues: messages reaching
	// promotion or popped get a 451 4.4.4 transient failure and a requeue.
	Suspend
)

func (k Kind) String() string {
	switch k {
	case Bounce:
		return "bounce"
	case Suspend:
		return "suspend"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k == Bounce || k == Suspend }

// Entry is one admin bounce or suspension.
type Entry struct {
	ID       string // a random (version 4) UUID, hyphenated lowercase
	Kind     Kind
	Criteria Criteria
	Reason   string
	// Expires is when the entry stops applying: it is active while
	// now.Before(Expires).
	Expires time.Time
	// SuppressLogging asks for no AdminBounce records (bounces only).
	SuppressLogging bool
	// Added is when the entry was made, by the clock of the member that made it. Entries are kept
	// in this order (ties in the order they were stored): the newest match wins, and of two
	// entries of one kind with Equal criteria the older one gives way (see Put).
	Added time.Time
	// Counts maps queue names to the messages bounced through this entry
	// (see Registry.CountBounce). Only List fills it; elsewhere it is nil.
	Counts map[string]uint64
}

// Active reports whether e applies at now.
func (e *Entry) Active(now time.Time) bool { return now.Before(e.Expires) }

// Remaining is how long e stays active after now (0 once it has expired),
// the "duration" a GET lists.
func (e *Entry) Remaining(now time.Time) time.Duration {
	if !e.Active(now) {
		return 0
	}
	return e.Expires.Sub(now)
}

// Registry holds the admin entries. It is safe for concurrent use: HTTP
// handlers add, list and cancel while queue actors ask for decisions.
// Entries that have expired stop matching at once and are dropped by the
// next Add or Put. In a cluster every member has a Registry: what Add makes
// on one member is Put on the others, and a Cancel is Revoked there.
type Registry struct {
	mu     sync.RWMutex
	random io.Reader            // UUID source; nil means crypto/rand
	byID   map[string]*record   // every stored entry
	byKind [2][]*record         // per kind, oldest (by Added) first
	gone   map[string]time.Time // ids cancelled or replaced, until when Put ignores them
	// heard marks the ids of gone that Revoke learnt of without knowing the entry: their memory is
	// this registry's own (RevokeMemory), not the entry's expiry every member knows alike.
	heard      map[string]bool
	generation atomic.Uint64 // bumped under mu by every change of the entries
}

// record is a stored entry; entry.Counts stays nil and counts holds the
// live tallies.
type record struct {
	entry  Entry
	counts map[string]uint64
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{byID: make(map[string]*record), gone: make(map[string]time.Time), heard: make(map[string]bool)}
}

// Add stores a new entry and returns it. Its expiry is expires when that is
// set, else now+duration when duration is set, else now+DefaultDuration;
// KumoMTA gives expires the same precedence. Add does not validate: an
// expiry at or before now gives an entry that never applies (the request
// parsers refuse those). An active entry of the same kind with Equal
// criteria is replaced, as in KumoMTA, so its id stops being valid. Add
// panics on an unknown kind.
func (r *Registry) Add(kind Kind, c Criteria, reason string, duration time.Duration, expires time.Time,
	suppress bool, now time.Time) Entry {
	if !kind.valid() {
		panic(fmt.Sprintf("admin.Registry.Add: unknown kind %v", kind))
	}
	switch {
	case !expires.IsZero():
	case duration != 0:
		expires = now.Add(duration)
	default:
		expires = now.Add(DefaultDuration)
	}
	e := Entry{Kind: kind, Criteria: c.clone(), Reason: reason, Expires: expires, SuppressLogging: suppress, Added: now}
	r.mu.Lock()
	defer r.mu.Unlock()
	e.ID = r.newID()
	r.pruneLocked(now)
	if old := r.equalLocked(e); old != nil {
		r.dropLocked(old)
	}
	r.storeLocked(e)
	e.Criteria = e.Criteria.clone()
	return e
}

// Put stores a copy of an entry made elsewhere (by another member of a cluster, whose registry
// Add made it) under its own ID, and reports whether it did. It stores nothing when the entry is
// not active at now, its kind is unknown, its ID is empty, an entry with that ID is stored, or the
// ID was cancelled or replaced here before (a copy still on its way then, or sent again, changes
// nothing). When an active entry of the same kind has Equal criteria, the one with the later Added
// stays, the newcomer on a tie (so the copies of one member's entries, arriving in the order it
// added them, end as they did there); the other is dropped as Add drops a replaced entry.
func (r *Registry) Put(e Entry, now time.Time) bool {
	if !e.Kind.valid() || !e.Active(now) || e.ID == "" {
		return false
	}
	e.ID = canonicalID(e.ID)
	e.Criteria, e.Counts = e.Criteria.clone(), nil
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	if _, ok := r.byID[e.ID]; ok {
		return false
	}
	if _, ok := r.gone[e.ID]; ok {
		return false
	}
	if old := r.equalLocked(e); old != nil {
		if old.entry.Added.After(e.Added) {
			r.gone[e.ID] = e.Expires
			return false
		}
		r.dropLocked(old)
	}
	r.storeLocked(e)
	return true
}

// Revoke is Cancel for a cancellation made elsewhere: it removes the entry with the given id and
// reports whether there was one, and in any case remembers the id so that a copy of the entry
// still on its way is not stored by a later Put: until the entry's expiry when it is known here,
// else for RevokeMemory after now.
func (r *Registry) Revoke(id string, now time.Time) bool {
	id = canonicalID(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec, ok := r.byID[id]; ok {
		r.dropLocked(rec)
		r.generation.Add(1)
		return true
	}
	if _, known := r.gone[id]; id != "" && !known {
		// Not extended when known: members tell each other their cancellations again and again
		// (resyncs), and each repeat extending the memory would keep it forever.
		r.gone[id], r.heard[id] = now.Add(RevokeMemory), true
	}
	return false
}

// RevokeMemory is how long Revoke remembers the id of an entry it does not know.
const RevokeMemory = 10 * time.Minute

// equalLocked is the stored entry of e's kind with Equal criteria, or nil.
func (r *Registry) equalLocked(e Entry) *record {
	for _, old := range r.byKind[e.Kind-1] {
		if old.entry.Criteria.Equal(e.Criteria) {
			return old
		}
	}
	return nil
}

// dropLocked removes a cancelled or replaced entry and remembers its id until it would have
// expired, for Put.
func (r *Registry) dropLocked(rec *record) {
	r.gone[rec.entry.ID] = rec.entry.Expires
	delete(r.heard, rec.entry.ID)
	r.removeLocked(rec.entry.ID)
}

// storeLocked adds e after every entry of its kind added no later than it.
func (r *Registry) storeLocked(e Entry) {
	rec := &record{entry: e, counts: make(map[string]uint64)}
	r.byID[e.ID] = rec
	list := r.byKind[e.Kind-1]
	i := len(list)
	for i > 0 && list[i-1].entry.Added.After(e.Added) {
		i--
	}
	r.byKind[e.Kind-1] = slices.Insert(list, i, rec)
	r.generation.Add(1)
}

// Cancel removes the entry with the given id, in any UUID spelling, and
// reports whether there was one; false is the API's 404. An entry that has
// expired but not yet been dropped (by an Add) can still be cancelled.
func (r *Registry) Cancel(id string) bool {
	id = canonicalID(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, ok := r.byID[id]
	if !ok {
		return false
	}
	r.dropLocked(rec)
	r.generation.Add(1)
	return true
}

// Gone returns the IDs of the entries cancelled or replaced here (a cancellation from elsewhere
// included, when the entry was known here) until the entry would have expired: what a member tells
// the others again, so that a cancellation lost on the way still arrives. A cancellation of an
// entry never known here is not among them: its memory is this registry's own, and members
// repeating such ones to each other would keep them alive forever.
func (r *Registry) Gone(now time.Time) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	out := make([]string, 0, len(r.gone))
	for id := range r.gone {
		if !r.heard[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// List returns the entries of kind active at now, oldest first, each with
// a copy of its Counts.
func (r *Registry) List(kind Kind, now time.Time) []Entry {
	if !kind.valid() {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []Entry
	for _, rec := range r.byKind[kind-1] {
		if !rec.entry.Active(now) {
			continue
		}
		e := rec.entry
		e.Criteria = e.Criteria.clone()
		e.Counts = maps.Clone(rec.counts)
		out = append(out, e)
	}
	return out
}

// Bounce returns the active bounce entry matching queue, if any. When
// several match, the most recently added one wins. The Entry is a copy
// without Counts.
func (r *Registry) Bounce(queue string, now time.Time) (*Entry, bool) {
	e, _ := r.lookup(Bounce, queue, now)
	return e, e != nil
}

// Suspended returns the active suspension matching queue, if any, chosen
// as Bounce chooses.
func (r *Registry) Suspended(queue string, now time.Time) (*Entry, bool) {
	e, _ := r.lookup(Suspend, queue, now)
	return e, e != nil
}

// lookup finds the newest active entry of kind matching queue, and the
// generation the answer belongs to.
func (r *Registry) lookup(kind Kind, queue string, now time.Time) (*Entry, uint64) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	gen := r.generation.Load()
	list := r.byKind[kind-1]
	for i := len(list) - 1; i >= 0; i-- {
		rec := list[i]
		if rec.entry.Active(now) && rec.entry.Criteria.Matches(queue) {
			e := rec.entry
			e.Criteria = e.Criteria.clone()
			return &e, gen
		}
	}
	return nil, gen
}

// CountBounce adds one to the count of messages the entry id bounced from
// queue, which List reports. Unknown ids are ignored; an entry that has
// expired since its decision still counts. It does not change Generation.
func (r *Registry) CountBounce(id, queue string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rec, ok := r.byID[id]; ok {
		rec.counts[queue]++
	}
}

// Generation changes on every Add, every Put that stores and every
// successful Cancel or Revoke, and at no other time. A decision "nothing matches queue" stays true until it
// changes; a decision "entry E matches" stays true until it changes or E
// expires. QueueCache applies both rules.
func (r *Registry) Generation() uint64 { return r.generation.Load() }

// pruneLocked drops entries that have expired at now, and the ids Put no longer needs to ignore.
func (r *Registry) pruneLocked(now time.Time) {
	for id, rec := range r.byID {
		if !rec.entry.Active(now) {
			r.removeLocked(id)
		}
	}
	for id, until := range r.gone {
		if !now.Before(until) {
			delete(r.gone, id)
			delete(r.heard, id)
		}
	}
}

func (r *Registry) removeLocked(id string) {
	rec, ok := r.byID[id]
	if !ok {
		return
	}
	delete(r.byID, id)
	k := rec.entry.Kind - 1
	for i, other := range r.byKind[k] {
		if other == rec {
			r.byKind[k] = slices.Delete(r.byKind[k], i, i+1)
			break
		}
	}
}

// newID returns a random (version 4) UUID in the hyphenated lowercase form
// KumoMTA prints.
func (r *Registry) newID() string {
	var b [16]byte
	if r.random == nil {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	} else if _, err := io.ReadFull(r.random, b[:]); err != nil {
		panic(fmt.Sprintf("admin: reading random bytes for an id: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// canonicalID turns any UUID spelling (32 hex digits, hyphenated, braced,
// urn:uuid:, any case) into the hyphenated lowercase form; other text is
// returned unchanged.
func canonicalID(id string) string {
	u, err := message.ParseSpoolID(id)
	if err != nil {
		return id
	}
	return u.Hyphenated()
}
