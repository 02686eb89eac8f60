package membership

import (
	"slices"
	"time"
)

// detector is the failure detector: it remembers when each member (one incarnation of it) was last
// heard from and names those silent for deadAfter or longer. It is pure: the time is an argument.
type detector struct {
	deadAfter time.Duration
	heard     map[string]heard
}

type heard struct {
	incarnation uint64
	at          time.Time
}

func newDetector(deadAfter time.Duration) *detector {
	return &detector{deadAfter: deadAfter, heard: map[string]heard{}}
}

// Heard records that member id, in the given incarnation, spoke at now. A newer incarnation
// replaces the one tracked; an older one is a late message of a past run and is ignored, as is a
// time earlier than the one already recorded.
func (d *detector) Heard(id string, incarnation uint64, now time.Time) {
	h, ok := d.heard[id]
	switch {
	case !ok || incarnation > h.incarnation:
		d.heard[id] = heard{incarnation: incarnation, at: now}
	case incarnation == h.incarnation && now.After(h.at):
		h.at = now
		d.heard[id] = h
	}
}

// Forget stops tracking id (it left, or was replaced by another member).
func (d *detector) Forget(id string) { delete(d.heard, id) }

// Tracking reports whether id is tracked.
func (d *detector) Tracking(id string) bool {
	_, ok := d.heard[id]
	return ok
}

// Dead returns, sorted, the members not heard from for deadAfter or longer at now, and forgets
// them: each is reported once.
func (d *detector) Dead(now time.Time) []string {
	var dead []string
	for id, h := range d.heard {
		if now.Sub(h.at) >= d.deadAfter {
			dead = append(dead, id)
		}
	}
	for _, id := range dead {
		delete(d.heard, id)
	}
	slices.Sort(dead)
	return dead
}
