package luahttp

import (
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
	"go.uber.org/goleak"
)

// TestMain fails the package if any test leaves a goroutine behind: a
// connection the client never closed keeps its transport goroutines
// alive. Tests close the shared transports' idle connections in their
// cleanup (see newState), so nothing needs to be ignored.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// closeIdleConnections closes the idle connections of every shared
// transport.
func closeIdleConnections() {
	transports.Lock()
	defer transports.Unlock()
	for _, t := range transports.m {
		t.CloseIdleConnections()
	}
	for _, t := range transports.fast {
		t.CloseIdleConnections()
	}
}

// waitFor polls cond until it holds or a few seconds have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestFailedRequestsLeaveNoConnections sends many concurrent requests to
// each hostile webhook and checks that every connection they opened is
// closed by the client once the calls have failed: none stays open at the
// server, and none is kept in the idle pool (an idle pooled connection is
// still open at the server). Only a redirect loop ends on a healthy
// connection, which may be pooled. No goroutine the requests started
// outlives them.
func TestFailedRequestsLeaveNoConnections(t *testing.T) {
	withBodyLimit(t, hostileBodyLimit)
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			n := 12
			if tc.heavy {
				n = 3
			}
			ep := tc.serve(t)
			before := goleak.IgnoreCurrent() // the server's own goroutines
			states := make([]*lua.LState, n)
			for i := range states {
				states[i] = hostileState(t, ep, tc)
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, L := range states {
				wg.Go(func() { _, _, errs[i] = callErr(L, tc.lua()) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			ep.release()
			if tc.pooled {
				// Healthy connections may wait in the idle pool (a
				// few more than n: a hop can dial before the previous
				// hop's connection is back in the pool); closing the
				// pool must close them all.
				closeIdleConnections()
			}
			waitFor(t, "the server's connections to close", func() bool { return ep.open() == 0 })
			// Nothing the requests started is still running on either
			// side, with the server still up: no transport goroutine
			// of a dead connection, no dial carrying on in the
			// background.
			goleak.VerifyNone(t, before)
		})
	}
}

// TestIdlePoolIsBounded has more requests in flight to one host than the
// shared transport keeps idle connections for, and checks that once they
// are done exactly maxIdleConnsPerHost connections stay open.
func TestIdlePoolIsBounded(t *testing.T) {
	n := maxIdleConnsPerHost + 16
	var arrived atomic.Int64
	all := make(chan struct{})
	ep := newTrackedServer(t, false, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if arrived.Add(1) == int64(n) {
			close(all)
		}
		select { // hold every request until all n have their own connection
		case <-all:
		case <-r.Context().Done():
		}
		w.Write([]byte("ok"))
	}))
	L := newState(t, ep.url, Options{})
	c := eval(t, L, `return kumo.http.build_client{timeout=5}`).(*lua.LUserData).Value.(*client)

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		r := &request{client: c, method: http.MethodGet, url: mustParse(t, ep.url), header: make(http.Header)}
		wg.Go(func() { _, errs[i] = r.do(t.Context()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the connections past the idle bound to close", func() bool { return ep.open() == maxIdleConnsPerHost })
	closeIdleConnections()
	waitFor(t, "the idle connections to close", func() bool { return ep.open() == 0 })
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
