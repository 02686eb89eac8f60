package luahttp

import (
	"io"
	"net/http"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// TestExpectContinue covers scripts that send "Expect: 100-continue" to a
// server that plays along; one that ignores it is a hostile case (it runs
// into the request timeout while waiting for 100 Continue).
func TestExpectContinue(t *testing.T) {
	const call = `local r = kumo.http.build_client{timeout=5}:post(url):header("Expect", "100-continue"):body("payload"):send()
		return r:status_code()`
	t.Run("a server that answers 100 Continue gets the body", func(t *testing.T) {
		srv := newTestServer(t, false) // net/http sends 100 Continue when the handler reads the body
		L := newState(t, srv.URL, Options{})
		start := time.Now()
		if got := eval(t, L, call); got != lua.LNumber(200) {
			t.Fatalf("status %v", got)
		}
		if took := time.Since(start); took >= expectContinueTimeout {
			t.Fatalf("took %v: the body waited for the 100 Continue timer, not for the server", took)
		}
		if got := srv.last(t); got.body != "payload" {
			t.Fatalf("the server got body %q", got.body)
		}
	})
	t.Run("a server that refuses before the body answers with its status, not an error", func(t *testing.T) {
		bodyBytes := make(chan int64, 1)
		ep := newRawServer(t, "http", func(c *rawConn) {
			if _, ok := c.readHead(); ok && c.send("HTTP/1.1 417 Expectation Failed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n") {
				n, _ := io.Copy(io.Discard, c.br) // until the client closes
				bodyBytes <- n
			}
		})
		L := newState(t, ep.url, Options{})
		start := time.Now()
		if got := eval(t, L, call); got != lua.LNumber(http.StatusExpectationFailed) {
			t.Fatalf("status %v", got)
		}
		if took := time.Since(start); took >= expectContinueTimeout {
			t.Fatalf("took %v: the client waited for the 100 Continue timer", took)
		}
		select {
		case n := <-bodyBytes:
			if n != 0 {
				t.Fatalf("the client sent %d bytes of body after a final answer", n)
			}
		case <-time.After(hangLimit):
			t.Fatal("the client kept the connection open after Connection: close")
		}
	})
}
