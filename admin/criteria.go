package admin

import (
	"slices"

	"github.com/hookd/hookd/message"
)

// Criteria selects scheduled queues for an admin bounce or suspension
// (SPEC-kumomta.md §11). A nil field is a wildcard; a non-nil field, even
// an empty string, must match exactly.
type Criteria struct {
	Campaign      *string
	Tenant        *string
	Domain        *string
	RoutingDomain *string
	// QueueNames, when non-empty, replaces the fields above: a queue
	// matches when its name is in the list, exactly.
	QueueNames []string
}

// Matches reports whether the queue named queue is selected:
//
//   - with QueueNames non-empty, when queue is one of them (exact, case
//     sensitive), whatever the other fields say;
//   - otherwise, when each non-nil field equals the same component of
//     message.ParseQueueName(queue). A field given for a component the name
//     lacks (a campaign for "T@D", a routing domain for "D") does not
//     match; comparisons are exact and case sensitive, as in KumoMTA;
//   - no fields and no names match every queue.
func (c Criteria) Matches(queue string) bool {
	if len(c.QueueNames) > 0 {
		return slices.Contains(c.QueueNames, queue)
	}
	if c.Campaign == nil && c.Tenant == nil && c.Domain == nil && c.RoutingDomain == nil {
		return true
	}
	q := message.ParseQueueName(queue)
	domain := q.Domain
	return componentMatches(c.Campaign, q.Campaign) &&
		componentMatches(c.Tenant, q.Tenant) &&
		componentMatches(c.Domain, &domain) &&
		componentMatches(c.RoutingDomain, q.RoutingDomain)
}

// componentMatches applies one field: nil wants anything; a value wants the
// same value and is not satisfied by an absent component.
func componentMatches(want, have *string) bool {
	switch {
	case want == nil:
		return true
	case have == nil:
		return false
	default:
		return *want == *have
	}
}

// MatchesAll reports whether c selects every queue: no fields and no queue
// names. KumoMTA accepts such a bounce, and it bounces everything.
func (c Criteria) MatchesAll() bool {
	return len(c.QueueNames) == 0 && c.Campaign == nil && c.Tenant == nil && c.Domain == nil &&
		c.RoutingDomain == nil
}

// Equal reports whether c and o are the same criteria: the same fields
// (nil only equals nil) and the same set of queue names, in any order and
// ignoring repeats. Adding an entry replaces an active one of the same
// kind with equal criteria, as KumoMTA does.
func (c Criteria) Equal(o Criteria) bool {
	return sameField(c.Campaign, o.Campaign) && sameField(c.Tenant, o.Tenant) &&
		sameField(c.Domain, o.Domain) && sameField(c.RoutingDomain, o.RoutingDomain) &&
		slices.Equal(nameSet(c.QueueNames), nameSet(o.QueueNames))
}

func sameField(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// nameSet returns the names sorted and without repeats.
func nameSet(names []string) []string {
	set := slices.Clone(names)
	slices.Sort(set)
	return slices.Compact(set)
}

// clone returns a deep copy, so that neither the registry nor its callers
// can change the other's criteria. Empty queue name lists become nil.
func (c Criteria) clone() Criteria {
	out := Criteria{
		Campaign:      cloneString(c.Campaign),
		Tenant:        cloneString(c.Tenant),
		Domain:        cloneString(c.Domain),
		RoutingDomain: cloneString(c.RoutingDomain),
	}
	if len(c.QueueNames) > 0 {
		out.QueueNames = slices.Clone(c.QueueNames)
	}
	return out
}

func cloneString(p *string) *string {
	if p == nil {
		return nil
	}
	s := *p
	return &s
}
