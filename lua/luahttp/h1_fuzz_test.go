package luahttp

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// FuzzH1MatchesNetHTTP serves the same response bytes to a POST through net/http's transport and
// through h1Transport: both must fail, or both succeed with the same status, headers and body.
// Error texts may differ; whether the exchange failed may not.
func FuzzH1MatchesNetHTTP(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 500 Oops\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nbad",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"HTTP/1.1 200\r\ncontent-length: 3\r\nX-A: 1\r\nx-a:  2\r\nETag: \"v\"\r\n\r\nabc",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n",
		"HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
		"HTTP/1.1 200 OK\r\nPragma: no-cache\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-B: a\tb\r\nContent-Length: 0 \r\n\r\n",
		"HTTP/1.1  200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nBad Name: 1\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded: 1\r\nContent-Length: 0\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		if bytes.HasPrefix(answer, []byte("HTTP/1.1 101")) || bytes.HasPrefix(answer, []byte("HTTP/1.0 101")) {
			return // a protocol switch: net/http hands over the connection itself as the body
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil { // a long fuzz run can use up the loopback ports (TIME_WAIT): not a difference
			t.Skipf("no loopback port: %v", err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					if readReq(bufio.NewReader(c)) != nil {
						c.Write(answer)
					}
				}()
			}
		}()
		type outcome struct {
			ok, late bool // late: the context ended first
			status   int
			header   http.Header
			body     string
			head     string // the rest of what the response says of itself
		}
		exchange := func(rt http.RoundTripper) outcome {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c := &http.Client{Transport: rt, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+ln.Addr().String()+"/hook", strings.NewReader("x"))
			resp, err := c.Do(req)
			if err != nil {
				return outcome{late: ctx.Err() != nil}
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return outcome{late: ctx.Err() != nil}
			}
			head := fmt.Sprintf("%q %s %d.%d length %d close %v te %q uncompressed %v trailer %v", resp.Status, resp.Proto,
				resp.ProtoMajor, resp.ProtoMinor, resp.ContentLength, resp.Close, resp.TransferEncoding, resp.Uncompressed, resp.Trailer)
			return outcome{ok: true, status: resp.StatusCode, header: resp.Header, body: string(body), head: head}
		}
		std := newTransport(nil)
		fast := newH1Transport(newTransport(nil))
		defer std.CloseIdleConnections()
		defer fast.CloseIdleConnections()
		a, b := exchange(std), exchange(fast)
		if a.ok != b.ok || a.late != b.late || a.status != b.status || a.body != b.body || a.head != b.head || fmt.Sprint(a.header) != fmt.Sprint(b.header) {
			t.Fatalf("for %q:\nnet/http: %+v\nh1:       %+v", answer, a, b)
		}
	})
}
