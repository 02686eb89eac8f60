package luahttp

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// h1Transport does plain HTTP/1.1 exchanges (an http:// URL, no proxy) on the goroutine that asks
// for them, and hands everything else to its net/http transport: https (TLS and HTTP/2), proxies,
// "Expect: 100-continue", bodies of unknown length.
//
// net/http's transport runs two goroutines per connection: one writes each request, the other
// reads each response and passes it back over channels. A delivery session sends one request at a
// time and waits for its answer, so those hand-offs are all the transport adds to the two
// syscalls: in hookd bench (one POST per record) they and the machinery around them cost about as
// much CPU per request as the webhook's whole server side, and `go test -bench Transport` in this
// package compares the two. Here the caller writes the request, flushes it in one write, and reads
// the response on the same goroutine; the connection goes back to a LIFO pool when the body has
// been read to its end.
//
// It keeps what net/http's transport does that a caller can see: the same request bytes (the
// User-Agent, Content-Length and Accept-Encoding rules and header order), the response parsed by
// http.ReadResponse, informational (1xx) responses skipped within MaxResponseHeaderBytes, a gzip
// body undone when it asked for it, keep-alive as the response allows it, idle connections closed
// after IdleConnTimeout and bounded by MaxIdleConnsPerHost and MaxIdleConns, the httptrace hooks
// the exchange's progress relies on, and the retry of a request whose reused connection turns out
// to be closed, under net/http's rules. No goroutine watches a connection while it is idle, so one
// idle for peekAfter or longer is checked before reuse (a non-blocking peek, see alive): servers
// close idle connections after seconds (nginx 75 s, Node.js 5 s), and the peek's system call
// costs ~3 µs of a delivery that reuses its connection within milliseconds.
type h1Transport struct {
	std     *http.Transport
	dial    func(ctx context.Context, network, addr string) (net.Conn, error)
	idle    time.Duration // 0: idle connections never expire
	perHost int
	maxIdle int // 0: no bound across hosts
	header  int64
	gzip    bool
	keep    bool
	// peekAfter is how long a connection may be idle before alive checks it (tests set 0).
	peekAfter time.Duration

	mu      sync.Mutex
	pools   map[string]*h1Pool
	nIdle   int
	reaping bool // a reap is scheduled
}

// h1Pool is the idle connections to one host:port, the most recently used last.
type h1Pool struct {
	conns []*h1Conn
}

// h1Conn is one connection of an h1Transport.
type h1Conn struct {
	conn   net.Conn
	lim    limitReader
	br     *bufio.Reader
	bw     *bufio.Writer
	addr   string
	idleAt time.Time
	reused bool
}

// limitReader is under a connection's bufio.Reader: while the response head is read it fails
// past a bound (net/http's MaxResponseHeaderBytes), then it passes everything through.
type limitReader struct {
	r      io.Reader
	remain int64
	bound  int64
}

// errHeaderTooLarge is what a response head past the bound fails with.
type errHeaderTooLarge int64

func (e errHeaderTooLarge) Error() string {
	return fmt.Sprintf("net/http: server response headers exceeded %d bytes; aborted", int64(e))
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.remain <= 0 {
		return 0, errHeaderTooLarge(l.bound)
	}
	if int64(len(p)) > l.remain {
		p = p[:l.remain]
	}
	n, err := l.r.Read(p)
	l.remain -= int64(n)
	return n, err
}

const unlimited = 1<<63 - 1

// peekAfter is h1Transport.peekAfter's default.
const peekAfter = 50 * time.Millisecond

func newH1Transport(std *http.Transport) *h1Transport {
	t := &h1Transport{std: std, dial: std.DialContext, idle: std.IdleConnTimeout, perHost: std.MaxIdleConnsPerHost,
		maxIdle: std.MaxIdleConns, header: std.MaxResponseHeaderBytes, gzip: !std.DisableCompression,
		keep: !std.DisableKeepAlives, peekAfter: peekAfter, pools: make(map[string]*h1Pool)}
	if t.dial == nil {
		d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
		t.dial = d.DialContext
	}
	if t.perHost == 0 {
		t.perHost = http.DefaultMaxIdleConnsPerHost
	}
	if t.header <= 0 {
		t.header = 10 << 20 // net/http's default
	}
	return t
}

// handles reports whether the exchange is done here rather than by net/http.
func (t *h1Transport) handles(req *http.Request) bool {
	if req.URL.Scheme != "http" || t.std.DialContext == nil && t.std.Dial != nil { // a dialer only net/http knows
		return false
	}
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		return false // chunked
	}
	if _, ok := req.Header["Expect"]; ok {
		return false
	}
	for i := 0; i < len(req.URL.Host); i++ {
		if req.URL.Host[i] >= 0x80 {
			return false // IDNA
		}
	}
	if t.std.Proxy != nil {
		if u, err := t.std.Proxy(req); err != nil || u != nil {
			return false
		}
	}
	return true
}

// RoundTrip implements http.RoundTripper.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.handles(req) {
		if p := progressFrom(req.Context()); p != nil { // net/http reports its progress through hooks
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), p.clientTrace()))
		}
		return t.std.RoundTrip(req)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	trace := httptrace.ContextClientTrace(ctx) // one of the caller's own
	p := progressFrom(ctx)                     // a kumo.http request's
	for retried := false; ; retried = true {
		c, err := t.get(ctx, addr, retried)
		if err != nil {
			closeBody(req)
			return nil, ctxErr(ctx, err)
		}
		if p != nil {
			p.gotConn(c.conn)
		}
		if trace != nil && trace.GotConn != nil {
			trace.GotConn(httptrace.GotConnInfo{Conn: c.conn, Reused: c.reused})
		}
		resp, err := t.exchange(ctx, req, c, trace, p)
		if err == nil {
			return resp, nil
		}
		var again retryable
		if !retried && errors.As(err, &again) && ctx.Err() == nil {
			if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
				body, berr := req.GetBody()
				if berr != nil {
					return nil, err
				}
				r2 := *req
				r2.Body = body
				req = &r2
			}
			continue
		}
		closeBody(req)
		if errors.As(err, &again) {
			err = again.err
		}
		return nil, err
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// ctxErr is the error of an exchange that failed with err: the context's, if it has ended. A dial
// given the context's deadline can fail a moment before the context's own timer marks it done.
func ctxErr(ctx context.Context, err error) error {
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		<-ctx.Done()
	}
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return err
}

// retryable is a failure on a reused connection that net/http would retry on a new one: nothing
// of the request was written, or nothing of an answer to a replayable request was read.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

// aLongTimeAgo is a deadline in the past: setting it makes the connection's I/O fail at once.
var aLongTimeAgo = time.Unix(1, 0)

// exchange writes req on c and reads the response head; the body is read by the caller.
func (t *h1Transport) exchange(ctx context.Context, req *http.Request, c *h1Conn, trace *httptrace.ClientTrace, p *progress) (*http.Response, error) {
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		c.conn.Close()
		return nil, ctxErr(ctx, err)
	}
	ae := t.gzip && req.Method != http.MethodHead && req.Header.Get("Accept-Encoding") == "" && req.Header.Get("Range") == ""
	asked := hasToken(req.Header["Connection"], "close")
	closing := req.Close || !t.keep || asked
	writeRequest(c.bw, req, ae, closing && !asked)
	if req.Body != nil && req.Body != http.NoBody {
		// A body that does not fit the buffer's rest (a batch) follows the head in one write of its
		// own, rather than in buffer-sized pieces.
		var w io.Writer = c.bw
		if req.ContentLength > int64(c.bw.Available()) {
			if err := c.bw.Flush(); err != nil {
				return fail(err)
			}
			w = c.conn
		}
		n, err := io.Copy(w, req.Body)
		req.Body.Close()
		if err == nil && n != req.ContentLength {
			err = fmt.Errorf("net/http: ContentLength=%d with Body length %d", req.ContentLength, n)
		}
		if err != nil {
			return fail(err)
		}
	}
	if err := c.bw.Flush(); err != nil {
		if c.reused && (req.Body == nil || req.Body == http.NoBody || req.GetBody != nil) { // nothing was written
			err = retryable{err}
		}
		return fail(err)
	}
	if p != nil {
		p.wroteRequest(nil)
	}
	if trace != nil && trace.WroteRequest != nil {
		trace.WroteRequest(httptrace.WroteRequestInfo{})
	}
	c.lim.remain, c.lim.bound = t.header, t.header
	if _, err := c.br.Peek(1); err != nil {
		var large errHeaderTooLarge
		if c.reused && replayable(req) && !errors.As(err, &large) {
			err = retryable{err}
		}
		return fail(err)
	}
	if p != nil {
		p.to(stageReceivingHeaders)
	}
	if trace != nil && trace.GotFirstResponseByte != nil {
		trace.GotFirstResponseByte()
	}
	var resp *http.Response
	for {
		var err error
		if resp, err = http.ReadResponse(c.br, req); err != nil {
			return fail(err)
		}
		if resp.StatusCode < 100 || resp.StatusCode > 199 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	c.lim.remain = unlimited
	keep := !closing && !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	if ae && resp.Body != http.NoBody && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
		resp.Body = &gzipBody{body: &h1Body{rc: resp.Body, t: t, c: c, stop: stop, keep: keep}}
		return resp, nil
	}
	if resp.Body == http.NoBody {
		t.finish(c, stop, keep)
		return resp, nil
	}
	resp.Body = &h1Body{rc: resp.Body, t: t, c: c, stop: stop, keep: keep}
	return resp, nil
}

// replayable is net/http's rule for retrying a request whose answer never came.
func replayable(req *http.Request) bool {
	if req.Body == nil || req.Body == http.NoBody || req.GetBody != nil {
		switch req.Method {
		case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
			return true
		}
		_, a := req.Header["Idempotency-Key"]
		_, b := req.Header["X-Idempotency-Key"]
		return a || b
	}
	return false
}

func hasToken(values []string, token string) bool {
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(f), token) {
				return true
			}
		}
	}
	return false
}

// excluded are the headers net/http writes itself, or never from Request.Header.
var excluded = map[string]bool{"Host": true, "User-Agent": true, "Content-Length": true, "Transfer-Encoding": true, "Trailer": true}

// writeRequest writes req's head as net/http's Request.Write does for a request with a known
// length: the request line, Host, User-Agent, Connection: close if it closes, Content-Length, the other headers sorted by name, the
// transport's own headers, then the blank line. Header names and values were checked when the
// script added them.
func writeRequest(w *bufio.Writer, req *http.Request, acceptGzip, addClose bool) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	w.WriteString(req.Method)
	w.WriteByte(' ')
	w.WriteString(req.URL.RequestURI())
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(host)
	w.WriteString("\r\n")
	if ua, ok := req.Header["User-Agent"]; !ok {
		w.WriteString("User-Agent: Go-http-client/1.1\r\n")
	} else if len(ua) > 0 && ua[0] != "" {
		w.WriteString("User-Agent: ")
		w.WriteString(strings.TrimSpace(ua[0]))
		w.WriteString("\r\n")
	}
	if addClose {
		w.WriteString("Connection: close\r\n")
	}
	switch {
	case req.ContentLength > 0:
		w.WriteString("Content-Length: ")
		w.WriteString(strconv.FormatInt(req.ContentLength, 10))
		w.WriteString("\r\n")
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		w.WriteString("Content-Length: 0\r\n") // as net/http: many servers expect one
	}
	var small [8]string
	keys := small[:0]
	for k := range req.Header {
		if !excluded[k] {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range req.Header[k] {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(strings.TrimSpace(v))
			w.WriteString("\r\n")
		}
	}
	if acceptGzip {
		w.WriteString("Accept-Encoding: gzip\r\n")
	}
	w.WriteString("\r\n")
}

// h1Body is a response body on an h1Conn: the connection goes back to the pool when the body has
// been read to its end, and is closed when the body is closed before that.
type h1Body struct {
	rc   io.ReadCloser
	t    *h1Transport
	c    *h1Conn
	stop func() bool
	keep bool
	done bool
}

func (b *h1Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done = true
		b.t.finish(b.c, b.stop, b.keep)
	} else if err != nil {
		b.done = true
		b.stop()
		b.c.conn.Close()
	}
	return n, err
}

func (b *h1Body) Close() error {
	if !b.done {
		b.done = true
		b.stop()
		b.c.conn.Close()
	}
	return nil
}

// gzipBody undoes a gzip Content-Encoding the transport asked for.
type gzipBody struct {
	body *h1Body
	zr   *gzip.Reader
	err  error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.zr == nil && g.err == nil {
		g.zr, g.err = gzip.NewReader(g.body)
	}
	if g.err != nil {
		return 0, g.err
	}
	return g.zr.Read(p)
}

func (g *gzipBody) Close() error { return g.body.Close() }

// finish ends an exchange whose response was read in full: c goes back to the pool if it may.
func (t *h1Transport) finish(c *h1Conn, stop func() bool, keep bool) {
	if !stop() || !keep {
		c.conn.Close() // the exchange's context ended (its deadline is set in the past), or no keep-alive
		return
	}
	c.idleAt = time.Now()
	c.reused = true
	t.mu.Lock()
	p := t.pools[c.addr]
	if p == nil {
		p = &h1Pool{}
		t.pools[c.addr] = p
	}
	if len(p.conns) >= t.perHost || t.maxIdle > 0 && t.nIdle >= t.maxIdle {
		t.mu.Unlock()
		c.conn.Close()
		return
	}
	p.conns = append(p.conns, c)
	t.nIdle++
	reap := t.idle > 0 && !t.reaping
	t.reaping = t.reaping || reap
	t.mu.Unlock()
	if reap {
		time.AfterFunc(t.idle, t.reap)
	}
}

// get returns an idle connection to addr that is still open, or dials one.
// A retry asks for a fresh one.
func (t *h1Transport) get(ctx context.Context, addr string, fresh bool) (*h1Conn, error) {
	for !fresh {
		t.mu.Lock()
		p := t.pools[addr]
		if p == nil || len(p.conns) == 0 {
			t.mu.Unlock()
			break
		}
		c := p.conns[len(p.conns)-1]
		p.conns[len(p.conns)-1] = nil
		p.conns = p.conns[:len(p.conns)-1]
		t.nIdle--
		t.mu.Unlock()
		idle := time.Since(c.idleAt)
		if (t.idle == 0 || idle < t.idle) && (idle < t.peekAfter || alive(c.conn)) {
			return c, nil
		}
		c.conn.Close()
	}
	conn, err := t.dial(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &h1Conn{conn: conn, addr: addr}
	c.lim = limitReader{r: conn, remain: unlimited}
	c.br = bufio.NewReaderSize(&c.lim, 4<<10)
	c.bw = bufio.NewWriterSize(conn, 4<<10)
	return c, nil
}

// reap closes the connections that have been idle for the idle timeout, and comes back for the
// others while there are any.
func (t *h1Transport) reap() {
	now := time.Now()
	var stale []*h1Conn
	t.mu.Lock()
	next := time.Duration(0)
	for addr, p := range t.pools {
		keep := p.conns[:0]
		for _, c := range p.conns {
			if left := t.idle - now.Sub(c.idleAt); left > 0 {
				keep = append(keep, c)
				if next == 0 || left < next {
					next = left
				}
			} else {
				stale = append(stale, c)
			}
		}
		clear(p.conns[len(keep):])
		p.conns = keep
		if len(keep) == 0 {
			delete(t.pools, addr)
		}
	}
	t.nIdle -= len(stale)
	t.reaping = next > 0
	t.mu.Unlock()
	for _, c := range stale {
		c.conn.Close()
	}
	if next > 0 {
		time.AfterFunc(next, t.reap)
	}
}

// CloseIdleConnections closes the idle connections of both transports.
func (t *h1Transport) CloseIdleConnections() {
	t.mu.Lock()
	var all []*h1Conn
	for addr, p := range t.pools {
		all = append(all, p.conns...)
		delete(t.pools, addr)
	}
	t.nIdle = 0
	t.mu.Unlock()
	for _, c := range all {
		c.conn.Close()
	}
	t.std.CloseIdleConnections()
}
