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
// next Add.
type Registry struct {
	mu         sync.RWMutex
	random     io.Reader          // UUID source; nil means crypto/rand
	byID       map[string]*record // every stored entry
	byKind     [2][]*record       // per kind, oldest first
	generation atomic.Uint64      // bumped under mu by Add and Cancel
}

// record is a stored entry; entry.Counts stays nil and counts holds the
// live tallies.
type record struct {
	entry  Entry
	counts map[string]uint64
}

// NewRegistry returns an empty Registry.
func NewRegistry() *Registry {
	return &Registry{byID: make(map[string]*record)}
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
	e := Entry{Kind: kind, Criteria: c.clone(), Reason: reason, Expires: expires, SuppressLogging: suppress}
	r.mu.Lock()
	defer r.mu.Unlock()
	e.ID = r.newID()
	r.pruneLocked(now)
	for _, old := range r.byKind[kind-1] {
		if old.entry.Criteria.Equal(e.Criteria) {
			r.removeLocked(old.entry.ID)
			break
		}
	}
	rec := &record{entry: e, counts: make(map[string]uint64)}
	r.byID[e.ID] = rec
	r.byKind[kind-1] = append(r.byKind[kind-1], rec)
	r.generation.Add(1)
	e.Criteria = e.Criteria.clone()
	return e
}

// Cancel removes the entry with the given id, in any UUID spelling, and
// reports whether there was one; false is the API's 404. An entry that has
// expired but not yet been dropped (by an Add) can still be cancelled.
func (r *Registry) Cancel(id string) bool {
	id = canonicalID(id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[id]; !ok {
		return false
	}
	r.removeLocked(id)
	r.generation.Add(1)
	return true
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

// Generation changes on every Add and every successful Cancel, and at no
// other time. A decision "nothing matches queue" stays true until it
// changes; a decision "entry E matches" stays true until it changes or E
// expires. QueueCache applies both rules.
func (r *Registry) Generation() uint64 { return r.generation.Load() }

// pruneLocked drops entries that have expired at now.
func (r *Registry) pruneLocked(now time.Time) {
	for id, rec := range r.byID {
		if !rec.entry.Active(now) {
			r.removeLocked(id)
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
