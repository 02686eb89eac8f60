package luahttp

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// connServer is a loopback server that hands each connection to serve, numbered from 1 in the
// order they were accepted, and counts them.
type connServer struct {
	url   string
	conns atomic.Int64
}

func newConnServer(t *testing.T, serve func(n int64, c net.Conn, br *bufio.Reader)) *connServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &connServer{url: "http://" + ln.Addr().String() + "/hook?x=1"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := s.conns.Add(1)
			mu.Lock()
			open[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				serve(n, c, bufio.NewReader(c))
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return s
}

// readReq reads one request, body included, or returns nil.
func readReq(br *bufio.Reader) *http.Request {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil
	}
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	return req
}

// h1Client is an http.Client on a fresh h1Transport over the package's default transport.
func h1Client(t *testing.T, tweak func(*http.Transport)) (*http.Client, *h1Transport) {
	std := newTransport(nil)
	if tweak != nil {
		tweak(std)
	}
	tr := newH1Transport(std)
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, tr
}

func post(t *testing.T, c *http.Client, url, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return resp, string(data)
}

// TestH1WritesWhatNetHTTPWrites sends the same requests through net/http's transport and through
// h1Transport, and compares the bytes a server receives.
func TestH1WritesWhatNetHTTPWrites(t *testing.T) {
	heads := make(chan []byte, 16)
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		for {
			var head bytes.Buffer
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					return
				}
				head.WriteString(line)
				if line == "\r\n" {
					break
				}
			}
			req, err := http.ReadRequest(bufio.NewReader(io.MultiReader(bytes.NewReader(head.Bytes()), br)))
			if err != nil {
				return
			}
			body, _ := io.ReadAll(req.Body)
			heads <- append(head.Bytes(), body...)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	build := []func() *http.Request{
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader(`{"a":1}`))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Add("X-B", " two ")
			r.Header.Add("X-A", "one")
			r.Header.Add("X-A", "again")
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, srv.url, nil)
			r.Header.Set("User-Agent", "hookd-test")
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPut, srv.url, http.NoBody)
			r.Header.Set("User-Agent", "")
			r.Header.Set("Accept-Encoding", "identity")
			return r
		},
		func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader("x"))
			r.Close = true
			return r
		},
		func() *http.Request { // a batch: larger than the write buffer
			r, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader("["+strings.Repeat(`{"n":1},`, 12000)+"{}]"))
			return r
		},
	}
	std := newTransport(nil)
	t.Cleanup(std.CloseIdleConnections)
	fast, _ := h1Client(t, nil)
	for i, mk := range build {
		var got [2][]byte
		for j, c := range []*http.Client{{Transport: std}, fast} {
			resp, err := c.Do(mk())
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got[j] = <-heads
		}
		if !bytes.Equal(got[0], got[1]) {
			t.Errorf("request %d:\nnet/http wrote %q\nh1 wrote       %q", i, got[0], got[1])
		}
	}
}

// TestH1ReusesConnections: sequential exchanges share one connection, whatever the body's
// framing, as long as the server keeps it alive.
func TestH1ReusesConnections(t *testing.T) {
	answers := []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3\r\nond\r\n0\r\n\r\n",
		"HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfourth",
		"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\nfifth",
	}
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		for i := 0; readReq(br) != nil; i++ {
			io.WriteString(c, answers[i%len(answers)])
		}
	})
	c, _ := h1Client(t, nil)
	want := []string{"first", "second", "", "fourth", "fifth"}
	codes := []int{200, 200, 204, 200, 500}
	for i := range 2 * len(want) {
		resp, body := post(t, c, srv.url, "payload")
		if body != want[i%len(want)] || resp.StatusCode != codes[i%len(want)] {
			t.Fatalf("exchange %d: %d %q, want %d %q", i, resp.StatusCode, body, codes[i%len(want)], want[i%len(want)])
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections for sequential exchanges, want 1", n)
	}
}

// TestH1WritesALargeBodyWithoutCopying: a body larger than the write buffer goes from its string
// to the connection as it is; io.WriteString used to copy it whole first.
func TestH1WritesALargeBodyWithoutCopying(t *testing.T) {
	const size = 4 << 20
	got := make(chan int, 4)
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			n, _ := io.Copy(io.Discard, req.Body)
			got <- int(n)
			io.WriteString(c, "HTTP/1.1 204 No Content\r\n\r\n")
		}
	})
	c, _ := h1Client(t, nil)
	body := strings.Repeat("x", size)
	post(t, c, srv.url, body) // dials, and warms what the first exchange allocates once
	<-got
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	post(t, c, srv.url, body)
	runtime.ReadMemStats(&after)
	if n := <-got; n != size {
		t.Fatalf("the server read %d bytes, want %d", n, size)
	}
	// Neither side keeps the body (the server discards it as it reads): a copy is the only
	// allocation near its size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > size/2 {
		t.Fatalf("one exchange allocated %d bytes for a %d-byte body: the body was copied", alloc, size)
	}
}

// TestH1ClosesWhatMayNotBeReused: a response that closes the connection, by its header or by its
// version, or a body closed before its end, is not pooled; the next exchange dials.
func TestH1ClosesWhatMayNotBeReused(t *testing.T) {
	answers := []string{
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\n\r\nuntil the end",
		"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("z", 100000),
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	}
	srv := newConnServer(t, func(n int64, c net.Conn, br *bufio.Reader) {
		if readReq(br) != nil {
			io.WriteString(c, answers[n-1])
		}
		if n == 2 {
			return // the HTTP/1.0 body ends where the connection does
		}
		io.Copy(io.Discard, br) // keep the connection until the client closes it
	})
	c, _ := h1Client(t, nil)
	if _, body := post(t, c, srv.url, "1"); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if _, body := post(t, c, srv.url, "2"); body != "until the end" {
		t.Fatalf("body %q", body)
	}
	resp, err := c.Post(srv.url, "text/plain", strings.NewReader("3"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 10)
	io.ReadFull(resp.Body, buf)
	resp.Body.Close() // 99990 bytes unread
	if _, body := post(t, c, srv.url, "4"); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if n := srv.conns.Load(); n != 4 {
		t.Fatalf("%d connections, want 4 (none of the first three may be reused)", n)
	}
}

// TestH1PeeksBeforeReuse: a server that closes a connection once it is idle (a keep-alive timeout)
// costs the next POST nothing: the pooled connection is found closed and a new one dialled.
func TestH1PeeksBeforeReuse(t *testing.T) {
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		if readReq(br) != nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	c, tr := h1Client(t, nil)
	tr.peekAfter = 0
	for i := range 3 {
		post(t, c, srv.url, "x")
		waitFor(t, "the server's close to arrive", func() bool {
			tr.mu.Lock()
			defer tr.mu.Unlock()
			for _, p := range tr.pools {
				for _, pc := range p.conns {
					if alive(pc.conn) {
						return false
					}
				}
			}
			return true
		})
		if n := srv.conns.Load(); n != int64(i+1) {
			t.Fatalf("%d connections after %d exchanges", n, i+1)
		}
	}
}

// TestH1RetriesAsNetHTTPDoes: a reused connection the server closes after reading the request,
// without answering, fails a POST (it may have been processed) and is retried for a GET or a POST
// with an Idempotency-Key, on a new connection.
func TestH1RetriesAsNetHTTPDoes(t *testing.T) {
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		if readReq(br) == nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		readReq(br) // the second request on a connection is never answered
	})
	c, tr := h1Client(t, nil)
	tr.peekAfter = time.Hour // the server's close is seen when the request fails, not before
	post(t, c, srv.url, "first")
	if _, err := c.Post(srv.url, "text/plain", strings.NewReader("second")); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("a POST on a connection closed under it: %v, want EOF", err)
	}
	post(t, c, srv.url, "third") // a new connection, now pooled
	resp, err := c.Get(srv.url)
	if err != nil {
		t.Fatalf("a GET is retried: %v", err)
	}
	resp.Body.Close()
	post(t, c, srv.url, "warm") // pools the GET's connection... which answers one request only
	req, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader("keyed"))
	req.Header.Set("Idempotency-Key", "k1")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatalf("a POST with an Idempotency-Key is retried: %v", err)
	}
	resp.Body.Close()
	if n := srv.conns.Load(); n != 5 {
		t.Fatalf("%d connections, want 5", n)
	}
}

// TestH1UndoesGzip: asked for by the transport, a gzip body arrives decoded; asked for by the
// caller, it arrives as sent.
func TestH1UndoesGzip(t *testing.T) {
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	io.WriteString(zw, "hello, webhook")
	zw.Close()
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		for readReq(br) != nil {
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s", zipped.Len(), zipped.Bytes())
		}
	})
	c, _ := h1Client(t, nil)
	resp, body := post(t, c, srv.url, "x")
	if body != "hello, webhook" || !resp.Uncompressed || resp.Header.Get("Content-Encoding") != "" {
		t.Fatalf("body %q, uncompressed %v, header %v", body, resp.Uncompressed, resp.Header)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.url, strings.NewReader("y"))
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(raw, zipped.Bytes()) {
		t.Fatalf("the caller's own gzip was undone: %q", raw)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// TestH1BoundsTheHead: informational responses count towards MaxResponseHeaderBytes.
func TestH1BoundsTheHead(t *testing.T) {
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		if readReq(br) == nil {
			return
		}
		for range 1000 {
			if _, err := io.WriteString(c, "HTTP/1.1 102 Processing\r\nX-Pad: "+strings.Repeat("p", 100)+"\r\n\r\n"); err != nil {
				return
			}
		}
	})
	c, _ := h1Client(t, func(std *http.Transport) { std.MaxResponseHeaderBytes = 4096 })
	_, err := c.Post(srv.url, "text/plain", strings.NewReader("x"))
	if err == nil || !strings.Contains(err.Error(), "server response headers exceeded 4096 bytes") {
		t.Fatalf("err = %v", err)
	}
}

// TestH1ClosesIdleConnections: connections idle for IdleConnTimeout are closed without another
// exchange to notice them, and the pool keeps at most MaxIdleConnsPerHost.
func TestH1ClosesIdleConnections(t *testing.T) {
	var closed atomic.Int64
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		for readReq(br) != nil {
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
		closed.Add(1)
	})
	c, tr := h1Client(t, func(std *http.Transport) {
		std.IdleConnTimeout = 50 * time.Millisecond
		std.MaxIdleConnsPerHost = 2
	})
	var wg sync.WaitGroup
	for range 4 { // four at once: four connections, two of them pooled afterwards
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Post(srv.url, "text/plain", strings.NewReader("x"))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	tr.mu.Lock()
	idle := tr.nIdle
	tr.mu.Unlock()
	if n := srv.conns.Load(); idle > 2 || idle+int(closed.Load()) < int(n)-2 {
		t.Fatalf("%d idle of %d connections", idle, n)
	}
	waitFor(t, "the idle connections to be closed", func() bool { return closed.Load() == srv.conns.Load() })
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.nIdle != 0 || len(tr.pools) != 0 {
		t.Fatalf("%d idle, %d pools left", tr.nIdle, len(tr.pools))
	}
}

// TestH1HandsOverWhatItDoesNotDo: https, a proxy, "Expect: 100-continue" and a body of unknown
// length go to net/http's transport.
func TestH1HandsOverWhatItDoesNotDo(t *testing.T) {
	tr := newH1Transport(newTransport(nil))
	mk := func(url string, body io.Reader, h ...string) *http.Request {
		r, _ := http.NewRequest(http.MethodPost, url, body)
		for i := 0; i+1 < len(h); i += 2 {
			r.Header.Set(h[i], h[i+1])
		}
		return r
	}
	if !tr.handles(mk("http://127.0.0.1:9/x", strings.NewReader("x"))) {
		t.Fatal("a plain POST is not handled")
	}
	for name, r := range map[string]*http.Request{
		"https":   mk("https://127.0.0.1:9/x", strings.NewReader("x")),
		"expect":  mk("http://127.0.0.1:9/x", strings.NewReader("x"), "Expect", "100-continue"),
		"chunked": mk("http://127.0.0.1:9/x", io.MultiReader(strings.NewReader("x"))),
		"idna":    mk("http://bücher.example/x", nil),
	} {
		if tr.handles(r) {
			t.Errorf("%s: handled", name)
		}
	}
	proxied := newTransport(nil)
	proxied.Proxy = func(*http.Request) (*url.URL, error) { return mustParse(t, "http://proxy.example:3128"), nil }
	if newH1Transport(proxied).handles(mk("http://127.0.0.1:9/x", nil)) {
		t.Error("a proxied request is handled")
	}
	// and the hand-over works: a TLS server answers through the same client
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "tls") }))
	t.Cleanup(ts.Close)
	std := ts.Client().Transport.(*http.Transport)
	c := &http.Client{Transport: newH1Transport(std)}
	resp, err := c.Get(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "tls" {
		t.Fatalf("body %q", b)
	}
	std.CloseIdleConnections()
}

// TestH1StopsAtTheContext: a context that ends during an exchange ends it with the context's
// error and closes the connection.
func TestH1StopsAtTheContext(t *testing.T) {
	srv := newConnServer(t, func(_ int64, c net.Conn, br *bufio.Reader) {
		readReq(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
		io.Copy(io.Discard, br)
	})
	c, tr := h1Client(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.url, strings.NewReader("x"))
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || ctx.Err() == nil {
		t.Fatalf("read the body: %v (context %v)", err, ctx.Err())
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.nIdle != 0 {
		t.Fatal("the connection was pooled")
	}
}

// BenchmarkTransport compares a POST through net/http's transport and through h1Transport, on a
// loopback net/http server; the CPU per request includes the server's.
func BenchmarkTransport(b *testing.B) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	b.Cleanup(ts.Close)
	payload := strings.Repeat("x", 900)
	for _, tc := range []struct {
		name string
		rt   func() http.RoundTripper
	}{
		{"net-http", func() http.RoundTripper { return newTransport(nil) }},
		{"h1", func() http.RoundTripper { return newH1Transport(newTransport(nil)) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			rt := tc.rt()
			c := &http.Client{Transport: rt}
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := c.Post(ts.URL, "application/json", strings.NewReader(payload))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			rt.(interface{ CloseIdleConnections() }).CloseIdleConnections()
		})
	}
}
