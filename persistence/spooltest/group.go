package spooltest

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/persistence"
)

// The PutGroup part of the suite.
func runGroup(t *testing.T, open Factory, f Features) {
	t.Run("a group is stored whole, in order, with one answer", func(t *testing.T) { testGroupPutLoad(t, open) })
	t.Run("an empty group is done at once", func(t *testing.T) { testGroupEmpty(t, open) })
	t.Run("a group beyond the bounds is refused with nothing stored", func(t *testing.T) { testGroupTooLarge(t, open) })
	t.Run("concurrent groups and puts are all stored", func(t *testing.T) { testGroupConcurrent(t, open) })
	t.Run("a closed spool refuses a group", func(t *testing.T) { testGroupClosed(t, open) })
	if f.Durable {
		t.Run("a group survives a reopen", func(t *testing.T) { testGroupReopen(t, open) })
	}
}

// PutGroup calls s.PutGroup and waits for its answer, failing the test if done is called more than
// once or never.
func PutGroup(t testing.TB, s persistence.Spool, es []*persistence.Entry) error {
	t.Helper()
	done := make(chan error, 2)
	s.PutGroup(es, func(err error) { done <- err })
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("a group of %d never acknowledged", len(es))
	}
	select {
	case again := <-done:
		t.Fatalf("a group of %d answered twice: %v, then %v", len(es), err, again)
	case <-time.After(time.Millisecond):
	}
	return err
}

// Group is the test entries from to to-1, then a second version of the first one (a longer body
// of another letter): a spool that keeps the group's order loads that one.
func Group(from, to int) []*persistence.Entry {
	var es []*persistence.Entry
	for n := from; n < to; n++ {
		es = append(es, Entry(n))
	}
	last := Entry(from)
	last.Body = append(bytes.Repeat([]byte{'#'}, 7), last.Body...)
	return append(es, last)
}

// CheckGroup fails the test unless every entry of g loads back as the group left it.
func CheckGroup(t testing.TB, s persistence.Spool, g []*persistence.Entry) {
	t.Helper()
	want := map[string]*persistence.Entry{}
	for _, e := range g {
		want[e.ID.String()] = e // a later version replaces an earlier one
	}
	for _, e := range want {
		got, err := s.Load(e.ID)
		if err != nil || !same(got, e) {
			t.Fatalf("entry %s of a group: loaded %+v, %v", e.ID, got, err)
		}
	}
}

func testGroupPutLoad(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	g := Group(1, 6)
	if err := PutGroup(t, s, g); err != nil {
		t.Fatal(err)
	}
	CheckGroup(t, s, g)
	n := 0
	if err := s.Recover(func(*persistence.Entry) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("recover saw %d entries (%v), want 5", n, err)
	}
	// Update and Delete apply to grouped entries as to any.
	s.Update(g[1].ID, 3, t0)
	s.Delete(g[2].ID)
	put(t, s, Entry(100))
	if got, err := s.Load(g[1].ID); err != nil || got.Attempts != 3 || !got.Due.Equal(t0) {
		t.Fatalf("after update: %+v %v", got, err)
	}
	if _, err := s.Load(g[2].ID); !errors.Is(err, persistence.ErrNotFound) {
		t.Fatalf("deleted entry of a group loads: %v", err)
	}
}

func testGroupEmpty(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	called, got := 0, errors.New("not called")
	s.PutGroup(nil, func(err error) { called++; got = err })
	if called != 1 || got != nil {
		t.Fatalf("empty group: done called %d times before PutGroup returned, with %v", called, got)
	}
	s.PutGroup(nil, nil) // no callback: nothing to do, nothing to crash on
}

func testGroupTooLarge(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	huge := Entry(2)
	huge.Body = make([]byte, persistence.MaxGroupBytes)
	g := []*persistence.Entry{Entry(1), huge, Entry(3)}
	if err := PutGroup(t, s, g); !errors.Is(err, persistence.ErrGroupTooLarge) {
		t.Fatalf("a group of %d bytes: %v, want ErrGroupTooLarge", persistence.GroupBytes(g), err)
	}
	many := make([]*persistence.Entry, persistence.MaxGroupEntries+1)
	for i := range many {
		many[i] = Entry(10 + i%5)
	}
	if err := PutGroup(t, s, many); !errors.Is(err, persistence.ErrGroupTooLarge) {
		t.Fatalf("a group of %d entries: %v, want ErrGroupTooLarge", len(many), err)
	}
	for _, n := range []int{1, 2, 3, 10, 11, 12, 13, 14} {
		if _, err := s.Load(Entry(n).ID); !errors.Is(err, persistence.ErrNotFound) {
			t.Fatalf("entry %d of a refused group: %v", n, err)
		}
	}
	// The spool goes on: a group within the bounds right after is stored.
	ok := Group(20, 23)
	if err := PutGroup(t, s, ok); err != nil {
		t.Fatal(err)
	}
	CheckGroup(t, s, ok)
}

func testGroupConcurrent(t *testing.T, open Factory) {
	s := open(t, false)
	defer s.Close()
	const workers, rounds = 8, 30
	groups := make([][][]*persistence.Entry, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				base := w*10000 + i*100
				if i%3 == 2 { // a plain put between groups
					done := make(chan error, 1)
					s.Put(Entry(base), func(err error) { done <- err })
					if err := <-done; err != nil {
						t.Errorf("put: %v", err) // not Fatal: this is not the test's goroutine
					}
					continue
				}
				g := Group(base, base+1+(w+i)%7)
				done := make(chan error, 1)
				s.PutGroup(g, func(err error) { done <- err })
				if err := <-done; err != nil {
					t.Errorf("group: %v", err)
				}
				groups[w] = append(groups[w], g)
			}
		}()
	}
	wg.Wait()
	want := 0
	for w := range groups {
		for i := 0; i < rounds; i++ {
			if i%3 == 2 {
				want++
			}
		}
		for _, g := range groups[w] {
			CheckGroup(t, s, g)
			want += len(g) - 1 // its last entry is a second version of its first
		}
	}
	n := 0
	_ = s.Recover(func(*persistence.Entry) error { n++; return nil })
	if n != want {
		t.Fatalf("%d entries stored, want %d", n, want)
	}
}

func testGroupClosed(t *testing.T, open Factory) {
	s := open(t, false)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := PutGroup(t, s, Group(1, 4)); err == nil {
		t.Fatal("a closed spool took a group")
	}
}

func testGroupReopen(t *testing.T, open Factory) {
	s := open(t, false)
	a, b := Group(1, 4), Group(10, 30)
	for _, g := range [][]*persistence.Entry{a, b} {
		if err := PutGroup(t, s, g); err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, Entry(50))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, true)
	defer s.Close()
	CheckGroup(t, s, a)
	CheckGroup(t, s, b)
	n := 0
	if err := s.Recover(func(*persistence.Entry) error { n++; return nil }); err != nil || n != 3+20+1 {
		t.Fatalf("recover after reopen saw %d entries (%v), want %d", n, err, 3+20+1)
	}
}
