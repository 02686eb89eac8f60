package luahttp

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestSendHonoursTheLStateDeadline sets a deadline on the LState's context,
// as hookd does for every call into Lua, and checks that it stops a send()
// whose own timeout is longer, saying that the deadline did it and where,
// and that a shorter request timeout still wins.
func TestSendHonoursTheLStateDeadline(t *testing.T) {
	const deadline = 80 * time.Millisecond
	silent := func(c *rawConn) { c.drain() }
	slowBody := func(c *rawConn) {
		if c.readRequest() {
			c.trickle(okHead+"Content-Length: 1000\r\n\r\n", "x")
		}
	}
	const stopped = "was stopped by the caller's deadline: context deadline exceeded (after "
	cases := []struct {
		name    string
		behave  func(*rawConn)
		timeout string // the request's own timeout
		want    []string
		took    time.Duration
	}{
		{"the deadline stops a wait for the response headers", silent, "10s",
			[]string{stopped, "while waiting for the response headers; the request timeout is 10s)"}, deadline},
		{"the deadline stops a body that trickles", slowBody, "10s",
			[]string{stopped, "while reading the response body; the request timeout is 10s)"}, deadline},
		{"a request timeout shorter than the deadline still wins", silent, "30ms",
			[]string{"timed out after 30ms (while waiting for the response headers)"}, 30 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ep := newRawServer(t, "http", tc.behave)
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			L := newState(t, ep.url, Options{})
			L.SetContext(ctx)
			msg, took, err := callErr(L, `kumo.http.build_client{timeout="`+tc.timeout+`"}:post(url):body("{}"):send()`)
			if err != nil {
				t.Fatal(err)
			}
			assertContains(t, msg, "kumo.http: POST "+ep.url+" ")
			for _, want := range tc.want {
				assertContains(t, msg, want)
			}
			if took < tc.took/2 || took > tc.took+time.Second { // the deadline runs from before the call
				t.Fatalf("the call took %v, want about %v", took, tc.took)
			}
		})
	}
}

// TestSendWithAnExpiredContextFailsAtOnce calls send() with a context
// whose deadline has passed: it must not connect at all. (Through Lua,
// gopher-lua itself stops before calling send().)
func TestSendWithAnExpiredContextFailsAtOnce(t *testing.T) {
	ep := newRawServer(t, "http", func(c *rawConn) { c.drain() })
	L := newState(t, ep.url, Options{})
	eval(t, L, `c = kumo.http.build_client{timeout=10}; return true`)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	r := &request{client: clientOf(t, L, "c"), method: http.MethodGet, url: mustParse(t, ep.url), header: make(http.Header)}
	_, err := r.do(ctx)
	if err == nil {
		t.Fatal("send succeeded with a context that was over")
	}
	assertContains(t, err.Error(), "GET "+ep.url+" was stopped by the caller's deadline: context deadline exceeded (after ")
	assertContains(t, err.Error(), "while connecting; the request timeout is 10s)")
	if n := ep.open(); n != 0 {
		t.Fatalf("%d connections open", n)
	}
}
