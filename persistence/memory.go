package persistence

import (
	"sync"
	"time"

	"github.com/hookd/hookd/message"
)

// Memory is a Spool held in memory. Nothing survives the process: it is for tests, for embedders that
// accept that, and for deferred_spool-style use. Put acknowledges at once.
type Memory struct {
	mu      sync.Mutex
	entries map[message.SpoolID]*Entry
	closed  bool
}

// NewMemory returns an empty in-memory spool.
func NewMemory() *Memory { return &Memory{entries: map[message.SpoolID]*Entry{}} }

// ErrClosed is returned for operations on a closed spool.
var ErrClosed = errorString("spool: closed")

type errorString string

func (e errorString) Error() string { return string(e) }

// Put stores a copy of e and calls done(nil).
func (s *Memory) Put(e *Entry, done func(error)) {
	c := *e
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.entries[e.ID] = &c
	}
	s.mu.Unlock()
	if done != nil {
		if closed {
			done(ErrClosed)
		} else {
			done(nil)
		}
	}
}

// PutGroup stores copies of es, in order, and calls done(nil); a group beyond the bounds
// (CheckGroup) or a closed spool stores nothing.
func (s *Memory) PutGroup(es []*Entry, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if len(es) == 0 {
		done(nil)
		return
	}
	if err := CheckGroup(es); err != nil {
		done(err)
		return
	}
	cs := make([]Entry, len(es))
	for i, e := range es {
		cs[i] = *e
	}
	s.mu.Lock()
	closed := s.closed
	if !closed {
		for i := range cs {
			s.entries[cs[i].ID] = &cs[i]
		}
	}
	s.mu.Unlock()
	if closed {
		done(ErrClosed)
	} else {
		done(nil)
	}
}

// Update sets attempts and due of a stored entry.
func (s *Memory) Update(id message.SpoolID, attempts uint16, due time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[id]; ok {
		e.Attempts, e.Due = attempts, due
	}
}

// Delete removes an entry.
func (s *Memory) Delete(id message.SpoolID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, id)
}

// Load returns a copy of a stored entry.
func (s *Memory) Load(id message.SpoolID) (*Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[id]
	if !ok {
		return nil, ErrNotFound
	}
	c := *e
	return &c, nil
}

// Has reports whether the spool holds id.
func (s *Memory) Has(id message.SpoolID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.entries[id]
	return ok
}

// Recover calls fn for every entry.
func (s *Memory) Recover(fn func(*Entry) error) error {
	s.mu.Lock()
	all := make([]*Entry, 0, len(s.entries))
	for _, e := range s.entries {
		c := *e
		all = append(all, &c)
	}
	s.mu.Unlock()
	for _, e := range all {
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Len is the number of stored entries.
func (s *Memory) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Close marks the spool closed; later Puts fail.
func (s *Memory) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
