package luahttp

import (
	"bufio"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// endpoint is a test server as the hostile-webhook tests see it.
type endpoint struct {
	url string
	// open counts the connections the server has accepted and not yet
	// closed. Servers only close once the client has gone away (or by
	// their own choice), so it returning to zero shows the client let go.
	open func() int64
	// release lets stalled behaviours carry on (see rawConn.stalled).
	release func()
}

// rawServer is a loopback TCP server whose connections are each handed to
// a behaviour written at the socket level: a misbehaving webhook. The
// behaviour must return once it is done or the client has gone away (a
// read or a write fails); the server then closes its end.
type rawServer struct {
	ln       net.Listener
	behave   func(*rawConn)
	open     atomic.Int64
	released chan struct{}
	once     sync.Once
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]struct{}
}

// newRawServer starts a raw server; scheme only decides the URL the client
// is given ("https" for a server that must do TLS but does not).
func newRawServer(t testing.TB, scheme string, behave func(*rawConn)) endpoint {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, behave: behave, released: make(chan struct{}), conns: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.close)
	return endpoint{url: scheme + "://" + ln.Addr().String() + "/hook", open: s.open.Load, release: s.release}
}

func (s *rawServer) release() { s.once.Do(func() { close(s.released) }) }

func (s *rawServer) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.open.Add(1)
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.behave(&rawConn{TCPConn: c.(*net.TCPConn), br: bufio.NewReader(c), released: s.released})
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
			s.open.Add(-1)
		}()
	}
}

// close stops the server, unblocks every behaviour and waits for them.
func (s *rawServer) close() {
	s.ln.Close()
	s.release()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// rawConn is the server's end of one connection.
type rawConn struct {
	*net.TCPConn
	br       *bufio.Reader
	released <-chan struct{}
}

// tick is how often trickling behaviours send a byte.
const tick = 5 * time.Millisecond

// readHead reads the request line and the headers and returns the
// Content-Length (0 when there is none).
func (c *rawConn) readHead() (int64, bool) {
	if _, err := c.br.ReadString('\n'); err != nil { // the request line
		return 0, false
	}
	hdr, err := textproto.NewReader(c.br).ReadMIMEHeader()
	if err != nil {
		return 0, false
	}
	n, _ := strconv.ParseInt(hdr.Get("Content-Length"), 10, 64)
	return n, true
}

// readRequest reads a whole request with a Content-Length body.
func (c *rawConn) readRequest() bool {
	n, ok := c.readHead()
	if !ok {
		return false
	}
	_, err := io.CopyN(io.Discard, c.br, n)
	return err == nil
}

// drain reads and discards until the client goes away.
func (c *rawConn) drain() { io.Copy(io.Discard, c.br) }

// stalled waits, reading nothing, until the test releases the server, then
// drains: a server that stops reading in the middle of a request.
func (c *rawConn) stalled() {
	<-c.released
	c.drain()
}

// reset closes the connection with SO_LINGER 0, so that the client gets a
// TCP RST instead of a FIN.
func (c *rawConn) reset() {
	c.SetLinger(0)
	c.Close()
}

// send writes s, reporting whether the client is still there.
func (c *rawConn) send(s string) bool {
	_, err := io.WriteString(c, s)
	return err == nil
}

// trickle writes head at once, then pattern one byte per tick, over and
// over, until the client goes away.
func (c *rawConn) trickle(head, pattern string) {
	if !c.send(head) {
		return
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for i := 0; ; i++ {
		if !c.send(pattern[i%len(pattern) : i%len(pattern)+1]) {
			return
		}
		<-t.C
	}
}

// flood writes head, then chunk over and over as fast as the client takes
// it, until the client goes away.
func (c *rawConn) flood(head, chunk string) {
	if !c.send(head) {
		return
	}
	for c.send(chunk) {
	}
}

// newTrackedServer is an httptest server (TLS or not) whose endpoint
// counts open connections through ConnState.
func newTrackedServer(t testing.TB, tls bool, h http.Handler) endpoint {
	t.Helper()
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS and protocol errors
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		switch state {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return endpoint{url: srv.URL + "/hook", open: open.Load, release: func() {}}
}
