package ownership

import (
	"cmp"
	"slices"
)

// maxChain is the most views kept for rule 4(b) of the package comment: the last view whose
// barrier completed and those applied since. Past it, 4(b) is false until a barrier completes.
const maxChain = 64

// maxStray is how many releases of peers outside the current view a Table keeps beyond one per
// member of the view; past it, those of non-members are forgotten.
const maxStray = 64

// View is one membership as a member sees it.
type View struct {
	// Epoch is this member's count of membership changes, starting at 1 for the first view. It is
	// 0 before the first Apply.
	Epoch uint64
	// ID is a hash of the sorted members with their incarnations: two members with the same set
	// of live members (and incarnations) compute the same ID. It is 64-bit FNV-1a over, for each
	// member in order, the length of its ID as 8 bytes big-endian, the bytes of the ID and the
	// incarnation as 8 bytes big-endian, then the splitmix64 finaliser of Owner; a result of 0
	// becomes 1, so 0 means no view yet.
	ID uint64
	// Members are the members of the view, sorted by ID. They always include self, unless self
	// is leaving.
	Members []Member
}

// Table is one member's ownership state: its current view, the views since the last completed
// barrier, and the latest release each peer has sent. It decides, by the fencing rule of the
// package comment, which queues this member owns and which of them it may deliver. A Table is not
// safe for concurrent use: its owner serializes calls.
type Table struct {
	self Member
	left bool

	view   View
	ids    []string // the IDs of view.Members, for Owner
	others []string // the IDs of view.Members other than self, sorted

	// complete is whether every other member has released the current view.
	complete bool
	// chain holds the member IDs of the last view whose barrier completed and of every view
	// applied since, oldest first; its last entry is the current view. chainOK is false when no
	// view has completed yet, or when more than maxChain views would be needed.
	chain   [][]string
	chainOK bool

	// released is the latest view ID each peer has released.
	released map[string]uint64
}

// New returns the Table of the member self, with no view yet: until the first Apply, Owner
// returns "" and MayDeliver false for every queue. It panics if self.ID is empty.
func New(self Member) *Table {
	if self.ID == "" {
		panic("ownership.New: empty member ID")
	}
	return &Table{self: self, released: map[string]uint64{}}
}

// Self returns the member the Table belongs to.
func (t *Table) Self() Member { return t.self }

// Apply sets the live members of the cluster, as the membership layer reports them, and reports
// whether the view changed: whether the set of member IDs with their incarnations differs from
// the current view's (the first Apply always changes it). When it did, the Epoch grows by one and
// the view gets the ID of its new members.
//
// Self is added if missing, and an entry with self's ID is taken as self, with self's
// incarnation; after Leave, self is left out instead. When an ID appears more than once, the last
// entry wins. Entries with an empty ID are ignored. members is not kept.
func (t *Table) Apply(members []Member) bool {
	byID := make(map[string]uint64, len(members)+1)
	for _, m := range members {
		if m.ID != "" {
			byID[m.ID] = m.Incarnation
		}
	}
	delete(byID, t.self.ID)
	if !t.left {
		byID[t.self.ID] = t.self.Incarnation
	}
	next := make([]Member, 0, len(byID))
	for id, inc := range byID {
		next = append(next, Member{ID: id, Incarnation: inc})
	}
	slices.SortFunc(next, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return t.change(next)
}

// change makes sorted members the current view, unless they are the current view's members.
func (t *Table) change(members []Member) bool {
	if t.view.Epoch > 0 && slices.Equal(members, t.view.Members) {
		return false
	}
	t.view = View{Epoch: t.view.Epoch + 1, ID: viewID(members), Members: members}
	t.ids = make([]string, len(members))
	t.others = nil
	for i, m := range members {
		t.ids[i] = m.ID
		if m.ID != t.self.ID {
			t.others = append(t.others, m.ID)
		}
	}
	t.complete = false
	if t.chainOK {
		if len(t.chain) < maxChain {
			t.chain = append(t.chain, t.ids)
		} else {
			t.chain, t.chainOK = nil, false
		}
	}
	t.checkBarrier()
	return true
}

// checkBarrier completes the barrier of the current view when every other member has released
// it, and reports whether it did so now.
func (t *Table) checkBarrier() bool {
	if t.complete {
		return false
	}
	for _, p := range t.others {
		if t.released[p] != t.view.ID {
			return false
		}
	}
	t.complete = true
	t.chain, t.chainOK = [][]string{t.ids}, true
	return true
}

// View returns the current view (the zero View before the first Apply). Its Members are a copy.
func (t *Table) View() View {
	v := t.view
	v.Members = slices.Clone(v.Members)
	return v
}

// Owner returns the ID of the member that owns queue in the current view, by the package's
// Owner function over the view's member IDs; "" before the first Apply or in a view with no
// members. After Leave, the view and so the owner leave out self.
func (t *Table) Owner(queue string) string { return Owner(queue, t.ids) }

// Owns reports whether this member owns queue in the current view. It never does after Leave.
func (t *Table) Owns(queue string) bool { return !t.left && t.Owner(queue) == t.self.ID }

// MayDeliver reports whether this member may start a delivery session for queue: whether it owns
// queue in the current view and either the barrier of the current view is complete or it has
// owned queue in every view since the last view whose barrier completed, that one included (the
// package comment explains why). It is false for every queue before the first Apply and after
// Leave.
func (t *Table) MayDeliver(queue string) bool {
	if !t.Owns(queue) {
		return false
	}
	if t.complete {
		return true
	}
	if !t.chainOK {
		return false
	}
	for _, ids := range t.chain {
		if Owner(queue, ids) != t.self.ID {
			return false
		}
	}
	return true
}

// Released records that peer said: in its view viewID it has stopped every delivery session of
// every queue it does not own. Only the latest release of each peer is kept, and it counts only
// for the view with that ID, now or when this member applies it. Released reports whether this
// completed the barrier of the current view. A release from self is ignored.
func (t *Table) Released(peer string, viewID uint64) bool {
	if peer == "" || peer == t.self.ID {
		return false
	}
	t.released[peer] = viewID
	if len(t.released) > len(t.view.Members)+maxStray {
		t.forgetStrays()
	}
	if t.view.Epoch == 0 || viewID != t.view.ID || !slices.Contains(t.others, peer) {
		return false
	}
	return t.checkBarrier()
}

// forgetStrays drops the releases of peers that are not in the current view.
func (t *Table) forgetStrays() {
	for p := range t.released {
		if !slices.Contains(t.others, p) {
			delete(t.released, p)
		}
	}
}

// Pending returns the peers of the current view whose release of it is still missing, sorted; nil
// once the barrier is complete, or before the first Apply.
func (t *Table) Pending() []string {
	if t.complete {
		return nil
	}
	var out []string
	for _, p := range t.others {
		if t.released[p] != t.view.ID {
			out = append(out, p)
		}
	}
	return out
}

// Leave marks this member as stopping gracefully. From then on it owns nothing: its view leaves
// out self (a change of view, if it had one), Owner is computed over the other members, later
// Applies leave out self, and MayDeliver is false for every queue. The caller then stops every
// session before the member leaves the membership. Leaving twice is the same as leaving once.
func (t *Table) Leave() {
	if t.left {
		return
	}
	t.left = true
	if t.view.Epoch == 0 {
		return
	}
	rest := slices.DeleteFunc(slices.Clone(t.view.Members), func(m Member) bool { return m.ID == t.self.ID })
	t.change(rest)
}

// Moved returns the owner of queue in prev and its owner in the current view, so the caller can
// decide on a handover: from != to means the queue moved. prev is usually an earlier result of
// View.
func (t *Table) Moved(prev View, queue string) (from, to string) {
	ids := make([]string, len(prev.Members))
	for i, m := range prev.Members {
		ids[i] = m.ID
	}
	return Owner(queue, ids), t.Owner(queue)
}
