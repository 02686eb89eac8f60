package actors

import (
	"sort"
	"sync"

	"github.com/hookd/hookd/queue"
)

// breakers holds one circuit breaker per destination (custom_lua constructor and site), shared by
// every queue that delivers there.
type breakers struct {
	mu sync.Mutex
	m  map[string]*queue.Breaker
}

func (b *breakers) get(key string, cfg queue.BreakerConfig) *queue.Breaker {
	b.mu.Lock()
	defer b.mu.Unlock()
	br, ok := b.m[key]
	if !ok {
		br = queue.NewBreaker(key, cfg)
		b.m[key] = br
	}
	return br
}

// BreakerStats describes one destination's breaker.
type BreakerStats struct {
	Destination string `json:"destination"`
	State       string `json:"state"`
	Opened      uint64 `json:"opened"`
	Closed      uint64 `json:"closed"`
}

// Breakers describes every destination's breaker, sorted.
func (s *System) Breakers() []BreakerStats {
	s.breakers.mu.Lock()
	defer s.breakers.mu.Unlock()
	out := make([]BreakerStats, 0, len(s.breakers.m))
	for k, b := range s.breakers.m {
		st, o, c := b.State()
		out = append(out, BreakerStats{Destination: k, State: st.String(), Opened: o, Closed: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Destination < out[j].Destination })
	return out
}
