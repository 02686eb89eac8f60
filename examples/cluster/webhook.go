package main

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// webhook is the example's receiver: the members POST one record per request, naming themselves in
// the X-Hookd-Member header. It notes, for each record, who delivered it first and when, and how
// often it came. While down, it answers 503 and counts nothing, as a webhook in trouble would.
type webhook struct {
	down atomic.Bool

	mu       sync.Mutex
	arrivals map[string]*arrival // by record id
	posts    map[string]int      // accepted POSTs by member, duplicates included
	refused  int                 // POSTs answered 503
}

// arrival is one record at the webhook.
type arrival struct {
	member string // who delivered it first
	tenant string
	at     time.Time
	times  int
}

func newWebhook() *webhook {
	return &webhook{arrivals: map[string]*arrival{}, posts: map[string]int{}}
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if h.down.Load() {
		h.mu.Lock()
		h.refused++
		h.mu.Unlock()
		http.Error(w, "the webhook is down for the example", http.StatusServiceUnavailable)
		return
	}
	var rec struct {
		ID   string `json:"id"`
		Meta struct {
			Tenant string `json:"tenant"`
		} `json:"meta"`
	}
	if err := json.Unmarshal(body, &rec); err != nil || rec.ID == "" {
		http.Error(w, "not a log record", http.StatusBadRequest)
		return
	}
	member := r.Header.Get("X-Hookd-Member")
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts[member]++
	a := h.arrivals[rec.ID]
	if a == nil {
		a = &arrival{member: member, tenant: rec.Meta.Tenant, at: time.Now()}
		h.arrivals[rec.ID] = a
	}
	a.times++
}

// has reports how many of ids have arrived.
func (h *webhook) has(ids []string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, id := range ids {
		if h.arrivals[id] != nil {
			n++
		}
	}
	return n
}

// firstBy counts, among ids that arrived, who delivered each first; and returns the earliest
// arrival among them.
func (h *webhook) firstBy(ids []string) (map[string]int, time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	by := map[string]int{}
	var first time.Time
	for _, id := range ids {
		if a := h.arrivals[id]; a != nil {
			by[a.member]++
			if first.IsZero() || a.at.Before(first) {
				first = a.at
			}
		}
	}
	return by, first
}

// owners is, for each tenant, the members that delivered its records among ids.
func (h *webhook) owners(ids []string) map[string]map[string]bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]map[string]bool{}
	for _, id := range ids {
		if a := h.arrivals[id]; a != nil {
			if out[a.tenant] == nil {
				out[a.tenant] = map[string]bool{}
			}
			out[a.tenant][a.member] = true
		}
	}
	return out
}

// totals are the webhook's counts: distinct records, records that came more than once (and how
// many extra times), and accepted POSTs by member.
func (h *webhook) totals() (distinct, duplicated, extra int, posts map[string]int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	posts = map[string]int{}
	for m, n := range h.posts {
		posts[m] = n
	}
	for _, a := range h.arrivals {
		if a.times > 1 {
			duplicated++
			extra += a.times - 1
		}
	}
	return len(h.arrivals), duplicated, extra, posts
}

// refusedPosts is the number of POSTs answered 503 while the webhook was down.
func (h *webhook) refusedPosts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.refused
}
