// Package spooltest is the conformance suite every persistence.Spool implementation must pass.
package spooltest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// Factory opens the spool under test. reopen is true when the test wants the same spool back after
// Close (an implementation that keeps nothing across Close returns a fresh one and sets
// Durable=false in Features).
type Factory func(t *testing.T, reopen bool) persistence.Spool

// Features declares what an implementation promises.
type Features struct {
	Durable bool // entries survive Close and reopen
}

// Run runs the suite. Recover must list every live entry with its ID, Queue, Attempts and Due; Meta
// and Body may be left empty there (Load reads them).
func Run(t *testing.T, open Factory, f Features) {
	t.Run("a put entry loads back with its meta and body", func(t *testing.T) { testPutLoad(t, open) })
	t.Run("update and delete take effect", func(t *testing.T) { testUpdateDelete(t, open) })
	t.Run("concurrent puts are all acknowledged and stored", func(t *testing.T) { testConcurrent(t, open) })
	if f.Durable {
		t.Run("entries, attempts and due times survive a reopen", func(t *testing.T) { testReopen(t, open) })
	}
	runGroup(t, open, f)
}

var t0 = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)

// ID is the n-th test spool id; the same n always gives the same id.
func ID(n int) message.SpoolID {
	id, err := message.ParseSpoolID(fmt.Sprintf("%032x", uint64(n)+1))
	if err != nil {
		panic(err)
	}
	return id
}

// Entry makes a distinct test entry.
func Entry(n int) *persistence.Entry {
	id := ID(n)
	return &persistence.Entry{ID: id, Queue: fmt.Sprintf("q%d", n%3), Meta: []byte(fmt.Sprintf(`{"sender":"a@b","recipient":"c@d","meta":{"n":%d}}`, n)),
		Body: bytes.Repeat([]byte{byte('a' + n%26)}, 100+n)}
}

func put(t *testing.T, s persistence.Spool, e *persistence.Entry) {
	t.Helper()
	done := make(chan error, 1)
	s.Put(e, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("put %s: %v", e.ID, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("put %s never acknowledged", e.ID)
	}
}

func same(a, b *persistence.Entry) bool {
	return a.ID == b.ID && a.Queue == b.Queue && a.Attempts == b.Attempts && a.Due.Equal(b.Due) &&
		bytes.Equal(a.Meta, b.Meta) && bytes.Equal(a.Body, b.Body)
}

func testPutLoad(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	e := Entry(1)
	put(t, s, e)
	got, err := s.Load(e.ID)
	if err != nil || !same(got, e) {
		t.Fatalf("loaded %+v, %v", got, err)
	}
	if _, err := s.Load(Entry(2).ID); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("load of an unknown id: %v", err)
	}
	if !s.Has(e.ID) || s.Has(Entry(2).ID) {
		t.Fatalf("Has: %v for the put entry, %v for an unknown id", s.Has(e.ID), s.Has(Entry(2).ID))
	}
}

func testUpdateDelete(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	a, b := Entry(1), Entry(2)
	put(t, s, a)
	put(t, s, b)
	s.Update(a.ID, 4, t0.Add(time.Hour))
	s.Delete(b.ID)
	put(t, s, Entry(3)) // a later put makes the update and delete effective
	got, err := s.Load(a.ID)
	if err != nil || got.Attempts != 4 || !got.Due.Equal(t0.Add(time.Hour)) {
		t.Fatalf("after update: %+v %v", got, err)
	}
	if _, err := s.Load(b.ID); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("deleted entry loads: %v", err)
	}
	if !s.Has(a.ID) || s.Has(b.ID) {
		t.Fatalf("Has: %v for an updated entry, %v for a deleted one", s.Has(a.ID), s.Has(b.ID))
	}
	n := 0
	if err := s.Recover(func(*persistence.Entry) error { n++; return nil }); err != nil || n != 2 {
		t.Fatalf("recover saw %d entries (%v), want 2", n, err)
	}
}

func testConcurrent(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				done := make(chan error, 1)
				s.Put(Entry(w*1000+i), func(err error) { done <- err })
				if err := <-done; err != nil {
					t.Errorf("put: %v", err) // not Fatal: this is not the test's goroutine
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	_ = s.Recover(func(*persistence.Entry) error { n++; return nil })
	if n != 400 {
		t.Fatalf("%d entries stored, want 400", n)
	}
}

func testReopen(t *testing.T, open Factory) {
	s := open(t, false)
	a, b := Entry(1), Entry(2)
	put(t, s, a)
	put(t, s, b)
	s.Update(a.ID, 2, t0.Add(time.Minute))
	s.Delete(b.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, true)
	defer s.Close()
	var got []*persistence.Entry
	if err := s.Recover(func(e *persistence.Entry) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	a.Attempts, a.Due = 2, t0.Add(time.Minute)
	if len(got) != 1 || got[0].ID != a.ID || got[0].Queue != a.Queue || got[0].Attempts != 2 || !got[0].Due.Equal(a.Due) {
		t.Fatalf("recovered %+v", got)
	}
	loaded, err := s.Load(a.ID)
	if err != nil || !same(loaded, a) {
		t.Fatalf("loaded after reopen %+v, %v", loaded, err)
	}
	if !s.Has(a.ID) || s.Has(b.ID) {
		t.Fatalf("Has after reopen: %v for the kept entry, %v for the deleted one", s.Has(a.ID), s.Has(b.ID))
	}
}
