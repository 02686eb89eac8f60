package admin

import (
	"time"

	"github.com/hookd/hookd/message"
)

// BounceResponse is the body POST /api/admin/bounce/v1 answers with:
// {"id": ..., "bounced": {...}, "total_bounced": N}. Bouncing is
// asynchronous, so (as in current KumoMTA) bounced is normally empty and
// total_bounced 0; GET reports the counts.
type BounceResponse struct {
	ID           string            `json:"id"`
	Bounced      map[string]uint64 `json:"bounced"`
	TotalBounced uint64            `json:"total_bounced"`
}

// NewBounceResponse answers a bounce request that registered e, reporting
// e.Counts (none for a fresh entry).
func NewBounceResponse(e Entry) BounceResponse {
	bounced, total := countsOf(e)
	return BounceResponse{ID: e.ID, Bounced: bounced, TotalBounced: total}
}

// SuspendResponse is the body POST /api/admin/suspend/v1 answers with.
type SuspendResponse struct {
	ID string `json:"id"`
}

// BounceListEntry is one element of the GET /api/admin/bounce/v1 array.
// Absent criteria are null, as in KumoMTA; queue_names, which KumoMTA's
// list leaves out, appears when the entry has it.
type BounceListEntry struct {
	ID            string   `json:"id"`
	Campaign      *string  `json:"campaign"`
	Tenant        *string  `json:"tenant"`
	Domain        *string  `json:"domain"`
	RoutingDomain *string  `json:"routing_domain"`
	QueueNames    []string `json:"queue_names,omitempty"`
	Reason        string   `json:"reason"`
	// Duration is the time left, as humantime text ("4m 59s").
	Duration     string            `json:"duration"`
	Bounced      map[string]uint64 `json:"bounced"`
	TotalBounced uint64            `json:"total_bounced"`
}

// SuspendListEntry is one element of the GET /api/admin/suspend/v1 array.
type SuspendListEntry struct {
	ID         string   `json:"id"`
	Campaign   *string  `json:"campaign"`
	Tenant     *string  `json:"tenant"`
	Domain     *string  `json:"domain"`
	QueueNames []string `json:"queue_names,omitempty"`
	Reason     string   `json:"reason"`
	Duration   string   `json:"duration"` // time left, humantime text
}

// BounceList renders entries (from Registry.List(Bounce, now)) for GET; it
// never returns nil, so an empty list encodes as [].
func BounceList(entries []Entry, now time.Time) []BounceListEntry {
	out := make([]BounceListEntry, 0, len(entries))
	for _, e := range entries {
		bounced, total := countsOf(e)
		c := e.Criteria.clone()
		out = append(out, BounceListEntry{
			ID: e.ID, Campaign: c.Campaign, Tenant: c.Tenant, Domain: c.Domain,
			RoutingDomain: c.RoutingDomain, QueueNames: c.QueueNames, Reason: e.Reason,
			Duration: message.FormatDuration(e.Remaining(now)), Bounced: bounced, TotalBounced: total,
		})
	}
	return out
}

// SuspendList renders entries (from Registry.List(Suspend, now)) for GET;
// it never returns nil.
func SuspendList(entries []Entry, now time.Time) []SuspendListEntry {
	out := make([]SuspendListEntry, 0, len(entries))
	for _, e := range entries {
		c := e.Criteria.clone()
		out = append(out, SuspendListEntry{
			ID: e.ID, Campaign: c.Campaign, Tenant: c.Tenant, Domain: c.Domain, QueueNames: c.QueueNames,
			Reason: e.Reason, Duration: message.FormatDuration(e.Remaining(now)),
		})
	}
	return out
}

// countsOf copies e.Counts (never nil) and sums it.
func countsOf(e Entry) (map[string]uint64, uint64) {
	bounced := make(map[string]uint64, len(e.Counts))
	var total uint64
	for q, n := range e.Counts {
		bounced[q] = n
		total += n
	}
	return bounced, total
}

// CancelResponse gives the status and text body KumoMTA answers a DELETE
// with: 200 "removed <id>", or 404 "<kind> entry <id> not found".
func CancelResponse(kind Kind, id string, removed bool) (status int, body string) {
	if removed {
		return 200, "removed " + id
	}
	return 404, kind.String() + " entry " + id + " not found"
}

// requestWire is the JSON form of both request kinds.
type requestWire struct {
	Campaign        *string  `json:"campaign,omitempty"`
	Tenant          *string  `json:"tenant,omitempty"`
	Domain          *string  `json:"domain,omitempty"`
	RoutingDomain   *string  `json:"routing_domain,omitempty"`
	QueueNames      []string `json:"queue_names,omitempty"`
	Reason          string   `json:"reason"`
	Expires         string   `json:"expires,omitempty"`
	SuppressLogging bool     `json:"suppress_logging,omitempty"`
}

func wireOf(c Criteria, reason string, expires time.Time) requestWire {
	w := requestWire{Campaign: c.Campaign, Tenant: c.Tenant, Domain: c.Domain,
		RoutingDomain: c.RoutingDomain, QueueNames: c.QueueNames, Reason: reason}
	if !expires.IsZero() {
		w.Expires = expires.UTC().Format(time.RFC3339Nano)
	}
	return w
}

// MarshalJSON writes the request in KumoMTA's field names, with the
// resolved expiry as "expires" (left out when zero), so that a client can
// send it and ParseBounceRequest reads it back unchanged. Strings are
// written as all JSON hookd writes (message.MarshalJSON).
func (r BounceRequest) MarshalJSON() ([]byte, error) {
	w := wireOf(r.Criteria, r.Reason, r.Expires)
	w.SuppressLogging = r.SuppressLogging
	return message.MarshalJSON(w)
}

// MarshalJSON writes the request as BounceRequest.MarshalJSON does; a
// RoutingDomain, which the suspend API refuses, is written too.
func (r SuspendRequest) MarshalJSON() ([]byte, error) {
	return message.MarshalJSON(wireOf(r.Criteria, r.Reason, r.Expires))
}
