package luahttp

import (
	"bytes"
	"compress/gzip"
	"errors"
	"net/http"
	"net/http/httputil"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

const (
	// hostileTimeout is the request timeout of the cases that only the
	// timeout can end.
	hostileTimeout = 100 * time.Millisecond
	// fastTimeout is the request timeout of the cases that must fail on
	// their own, long before it (generous: under the race detector on a loaded machine, reading a
	// quarter-megabyte gzip bomb has taken seconds).
	fastTimeout = 30 * time.Second
	// hostileBodyLimit stands in for MaxBodySize, so that endless bodies
	// are cut off quickly.
	hostileBodyLimit = 256 << 10
	// hangLimit is how long a test waits before declaring send() hung.
	hangLimit = 60 * time.Second
	// timeoutSlack is how late past its timeout a call may end on a loaded machine.
	timeoutSlack = 5 * time.Second
)

// bigBody is larger than the socket buffers between client and server, so
// a server that stops reading stalls the client in the middle of sending.
var bigBody = sync.OnceValue(func() lua.LString { return lua.LString(strings.Repeat("x", 16<<20)) })

// gzippedZeros is a gzip member holding 1 MiB of zeros, about 1 KiB.
var gzippedZeros = sync.OnceValue(func() []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return buf.Bytes()
})

// hostileCase is a webhook that misbehaves in one way, and what the Lua
// error must say about it.
type hostileCase struct {
	name  string
	serve func(t testing.TB) endpoint
	// call sends the request to the global url; the default POSTs "{}".
	call string
	// want are regular expressions the error must match, besides naming
	// the method and URL.
	want []string
	// timeout is hostileTimeout for the cases the request timeout must
	// end, fastTimeout for those that must fail on their own.
	timeout time.Duration
	// pooled: the failure leaves a healthy connection, which the client
	// may keep in its idle pool.
	pooled bool
	// heavy: the request carries bigBody.
	heavy bool
}

const defaultCall = `kumo.http.build_client{timeout=timeout}:post(url):body("{}"):send()`

func (tc hostileCase) lua() string {
	if tc.call == "" {
		return defaultCall
	}
	return tc.call
}

// raw returns a serve function for a raw server.
func raw(scheme string, behave func(*rawConn)) func(testing.TB) endpoint {
	return func(t testing.TB) endpoint { return newRawServer(t, scheme, behave) }
}

const okHead = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"

// hostileCases lists the hostile webhooks, each behaviour written at the
// socket level where net/http's server would not misbehave on request.
//
// size: one table entry per behaviour, kept together so that the list can
// be read (and extended) in one place.
func hostileCases() []hostileCase {
	silent := func(c *rawConn) { c.drain() }
	answer := func(response string) func(*rawConn) { // then close with a FIN
		return func(c *rawConn) {
			if c.readRequest() {
				c.send(response)
			}
		}
	}
	answerThenReset := func(response string) func(*rawConn) {
		return func(c *rawConn) {
			if c.readRequest() && c.send(response) {
				c.reset()
			}
		}
	}
	after := func(behave func(*rawConn)) func(*rawConn) { // after reading the request
		return func(c *rawConn) {
			if c.readRequest() {
				behave(c)
			}
		}
	}
	chunk := strings.Repeat("x", 32<<10)
	const tooLong = `the response body exceeds the limit of 262144 bytes \(HTTP 200; stopped reading after 262145 bytes\)`
	const headersTooLong = `server response headers exceeded 1048576 bytes`
	return append(platformHostileCases(), []hostileCase{
		{name: "slow headers: the server takes the request and never answers",
			serve: raw("http", silent), timeout: hostileTimeout,
			want: []string{`timed out after 100ms \(while waiting for the response headers\)`}},
		{name: "slow headers: the server drips the status line",
			serve: raw("http", after(func(c *rawConn) {
				c.trickle("", "HTTP/1.1 200 OK\r\nX-Drip: "+strings.Repeat("a", 4096))
			})), timeout: hostileTimeout,
			want: []string{`timed out after 100ms \(while receiving the response headers\)`}},
		{name: "slow upload: the server stops reading the request body",
			serve: raw("http", func(c *rawConn) {
				if _, ok := c.readHead(); ok {
					c.stalled()
				}
			}), timeout: hostileTimeout, heavy: true,
			call: `kumo.http.build_client{timeout=timeout}:post(url):body(big):send()`,
			want: []string{`timed out after 100ms \(while sending the request\)`}},
		{name: "slow body: the body trickles after the headers",
			serve:   raw("http", after(func(c *rawConn) { c.trickle(okHead+"Content-Length: 100000\r\n\r\n", "x") })),
			timeout: hostileTimeout,
			want:    []string{`timed out after 100ms \(while reading the response body\)`}},
		{name: "slow body: a chunked body trickles",
			serve:   raw("http", after(func(c *rawConn) { c.trickle(okHead+"Transfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n") })),
			timeout: hostileTimeout,
			want:    []string{`timed out after 100ms \(while reading the response body\)`}},
		{name: "endless body: a chunked stream with no end",
			serve: raw("http", after(func(c *rawConn) {
				c.flood(okHead+"Transfer-Encoding: chunked\r\n\r\n", "8000\r\n"+chunk+"\r\n")
			})), timeout: fastTimeout, want: []string{tooLong}},
		{name: "endless body: no length, until the connection closes",
			serve:   raw("http", after(func(c *rawConn) { c.flood(okHead+"Connection: close\r\n\r\n", chunk) })),
			timeout: fastTimeout, want: []string{tooLong}},
		{name: "endless body: gzip-compressed zeros count once decompressed",
			serve: raw("http", after(func(c *rawConn) {
				if !c.send(okHead + "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n") {
					return
				}
				cw := httputil.NewChunkedWriter(c)
				for { // gzip members one after another decode as one stream
					if _, err := cw.Write(gzippedZeros()); err != nil {
						return
					}
				}
			})), timeout: fastTimeout, want: []string{tooLong}},
		{name: "endless body: a Content-Length over the limit fails before reading",
			// No body follows the headers: reading it would time out.
			serve:   raw("http", after(func(c *rawConn) { c.send(okHead + "Content-Length: 1099511627776\r\n\r\n"); c.drain() })),
			timeout: fastTimeout,
			want:    []string{`exceeds the limit of 262144 bytes \(HTTP 200 with Content-Length 1099511627776; not read\)`}},
		{name: "endless headers",
			serve:   raw("http", after(func(c *rawConn) { c.flood("HTTP/1.1 200 OK\r\n", "X-Flood: "+strings.Repeat("a", 1000)+"\r\n") })),
			timeout: fastTimeout, want: []string{headersTooLong + `; aborted \(while receiving the response headers\)`}},
		{name: "endless 1xx responses",
			serve: raw("http", after(func(c *rawConn) {
				c.flood("", "HTTP/1.1 103 Early Hints\r\nLink: </"+strings.Repeat("a", 4000)+">\r\n\r\n")
			})), timeout: fastTimeout, want: []string{headersTooLong}},
		{name: "reset mid-request",
			serve: raw("http", func(c *rawConn) {
				if _, ok := c.readHead(); ok {
					c.br.ReadByte()
					c.reset()
				}
			}), timeout: fastTimeout, heavy: true,
			call: `kumo.http.build_client{timeout=timeout}:post(url):body(big):send()`,
			want: []string{`failed: the server (reset|closed or reset) the connection: .* \(while sending the request\)`}},
		{name: "reset after reading the request",
			serve:   raw("http", after(func(c *rawConn) { c.reset() })),
			timeout: fastTimeout,
			want:    []string{`failed: the server reset the connection: .*connection reset by peer \(while waiting for the response headers\)`}},
		{name: "reset mid-response",
			serve:   raw("http", answerThenReset(okHead+"Content-Length: 1000\r\n\r\nabc")),
			timeout: fastTimeout,
			want:    []string{`failed: the server reset the connection: .*connection reset by peer \(while reading the response body\)`}},
		{name: "the server closes the connection without answering",
			serve:   raw("http", after(func(*rawConn) {})),
			timeout: fastTimeout,
			want:    []string{`failed: the server closed the connection without answering: EOF \(while waiting for the response headers\)`}},
		{name: "the server closes the connection in the headers",
			serve:   raw("http", answer("HTTP/1.1 200 OK\r\nX-Cut: ab")),
			timeout: fastTimeout,
			want:    []string{`failed: the server closed the connection before the end of the response: unexpected EOF \(while receiving the response headers\)`}},
		{name: "the server closes the connection in the body",
			serve:   raw("http", answer(okHead+"Content-Length: 1000\r\n\r\nabc")),
			timeout: fastTimeout,
			want:    []string{`failed: the server closed the connection before the end of the response: unexpected EOF \(while reading the response body\)`}},
		{name: "TLS: the server never answers the handshake",
			serve: raw("https", silent), timeout: hostileTimeout,
			want: []string{`timed out after 100ms \(while doing the TLS handshake\)`}},
		{name: "TLS: a self-signed certificate without accept_invalid_certs",
			serve:   func(t testing.TB) endpoint { return newTrackedServer(t, true, okHandler) },
			timeout: fastTimeout,
			want:    []string{`failed: the server's TLS certificate was rejected: .*certificate .*\(while doing the TLS handshake\)`}},
		{name: "TLS: plain HTTP on the TLS port",
			serve: func(t testing.TB) endpoint {
				ep := newTrackedServer(t, false, okHandler)
				ep.url = strings.Replace(ep.url, "http:", "https:", 1)
				return ep
			}, timeout: fastTimeout,
			want: []string{`failed: http: server gave HTTP response to HTTPS client \(while doing the TLS handshake\)`}},
		{name: "Expect: 100-continue is never answered",
			serve: raw("http", silent), timeout: hostileTimeout,
			call: `kumo.http.build_client{timeout=timeout}:post(url):header("Expect", "100-continue"):body("{}"):send()`,
			want: []string{`timed out after 100ms \(while waiting for 100 Continue\)`}},
		{name: "a redirect loop",
			serve: func(t testing.TB) endpoint {
				return newTrackedServer(t, false, http.RedirectHandler("/hook", http.StatusFound))
			}, timeout: fastTimeout, pooled: true,
			want: []string{`failed: stopped after 10 redirects \(a redirect loop\?\); the last one pointed to http://127\.0\.0\.1:\d+/hook$`}},
	}...)
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })

// withBodyLimit lowers bodyLimit for one test.
func withBodyLimit(t testing.TB, n int64) {
	old := bodyLimit
	bodyLimit = n
	t.Cleanup(func() { bodyLimit = old })
}

// hostileState is a Lua state with the globals a hostile case's call uses.
func hostileState(t testing.TB, ep endpoint, tc hostileCase) *lua.LState {
	L := newState(t, ep.url, Options{})
	L.SetGlobal("timeout", lua.LNumber(tc.timeout.Seconds()))
	if tc.heavy {
		L.SetGlobal("big", bigBody())
	}
	return L
}

// callErr runs src, which must raise a Lua error (not a Go panic) within
// hangLimit, and returns the error text and how long it took. It may be
// called from any goroutine.
func callErr(L *lua.LState, src string) (string, time.Duration, error) {
	type result struct {
		err     error
		elapsed time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		err := L.DoString(src)
		done <- result{err, time.Since(start)}
	}()
	select {
	case r := <-done:
		var apiErr *lua.ApiError
		switch {
		case r.err == nil:
			return "", r.elapsed, errors.New("expected a Lua error, got none")
		case !errors.As(r.err, &apiErr) || apiErr.Type != lua.ApiErrorRun:
			return "", r.elapsed, errors.New("not a Lua runtime error: " + r.err.Error())
		}
		return r.err.Error(), r.elapsed, nil
	case <-time.After(hangLimit):
		return "", hangLimit, errors.New("send() hung")
	}
}

// checkHostile checks one error against its case.
func checkHostile(t testing.TB, tc hostileCase, ep endpoint, msg string, elapsed time.Duration) {
	t.Helper()
	assertContains(t, msg, "kumo.http: POST "+ep.url)
	firstLine, _, _ := strings.Cut(msg, "\n") // gopher-lua appends a traceback
	for _, want := range tc.want {
		if !regexp.MustCompile(want).MatchString(firstLine) {
			t.Fatalf("error %q does not match %q", firstLine, want)
		}
	}
	if tc.timeout == hostileTimeout {
		if elapsed < tc.timeout || elapsed > tc.timeout+timeoutSlack {
			t.Fatalf("the call took %v with a timeout of %v", elapsed, tc.timeout)
		}
	} else if strings.Contains(msg, "timed out") {
		t.Fatalf("the call should have failed on its own: %s", firstLine)
	}
}

// TestHostileWebhooksRaiseLuaErrors sends one request to each hostile
// webhook: send() must raise a Lua error (never hang, never panic) that
// says what happened and where, by the request timeout for the cases only
// the timeout can end, and on its own well before it for the others.
func TestHostileWebhooksRaiseLuaErrors(t *testing.T) {
	withBodyLimit(t, hostileBodyLimit)
	for _, tc := range hostileCases() {
		t.Run(tc.name, func(t *testing.T) {
			ep := tc.serve(t)
			L := hostileState(t, ep, tc)
			msg, elapsed, err := callErr(L, tc.lua())
			if err != nil {
				t.Fatal(err)
			}
			checkHostile(t, tc, ep, msg, elapsed)
		})
	}
}
