package luahttp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http/httptrace"
	"os"
	"sync/atomic"
	"unsafe"
)

// causeConn is a connection of the package's own transports. It
// remembers the first error it reported, and it can be abandoned in the
// middle of its TLS handshake.
//
// When a server resets a connection while the client is still sending,
// net/http's reading goroutine sees the reset and closes the connection,
// and its writing goroutine then fails with "use of closed network
// connection". Which of the two errors a request gets depends on which
// goroutine reports first; the remembered one says what the server did.
type causeConn struct {
	net.Conn
	cause atomic.Pointer[error]
	tls   atomic.Int32 // a tlsState
}

// TLS handshake states of a causeConn.
const (
	tlsNone        int32 = iota // no handshake started (yet)
	tlsHandshaking              // started, not finished
	tlsDone                     // finished, whatever the outcome
	tlsAbandoned                // the request that dialled gave up first
)

func (c *causeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.note(err)
	return n, err
}

func (c *causeConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.note(err)
	return n, err
}

// WriteString writes s as Write does, without copying it first: a body
// written straight to the connection (a batch, larger than the write
// buffer) would otherwise be copied whole by io.WriteString. Write only
// reads its argument, and keeps nothing of it once it returns.
func (c *causeConn) WriteString(s string) (int, error) {
	return c.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
}

// note keeps err unless an earlier error was kept, or it is the client's
// own doing (a close or a deadline).
func (c *causeConn) note(err error) {
	if err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
		kept := err // a copy: taking err's own address would move it to the heap at every call
		c.cause.CompareAndSwap(nil, &kept)
	}
}

// firstError returns the remembered error, or nil.
func (c *causeConn) firstError() error {
	if p := c.cause.Load(); p != nil {
		return *p
	}
	return nil
}

// abandon closes c if its TLS handshake is under way, which makes the
// handshake fail at once.
func (c *causeConn) abandon() {
	if c.tls.CompareAndSwap(tlsHandshaking, tlsAbandoned) {
		c.Close()
	}
}

// causeConnOf finds the causeConn under a connection net/http reports in
// a GotConn trace, or returns nil for connections of other transports.
func causeConnOf(info httptrace.GotConnInfo) *causeConn {
	conn := info.Conn
	if tc, ok := conn.(*tls.Conn); ok {
		conn = tc.NetConn()
	}
	c, _ := conn.(*causeConn)
	return c
}

// dialFunc is the DialContext of the package's own transports.
//
// net/http detaches a dial from the cancellation of the request that asked
// for it, so that a later request can use the connection. For a host that
// never completes the TCP handshake, or a server that accepts and then
// stalls the TLS handshake, the dial would outlive the request by up to
// dialTimeout or tlsHandshakeTimeout, holding a socket and a goroutine
// each time a delivery is retried. The context keeps the request's values,
// though, and with them its progress: the dial gives up when the request
// does, and so does the TLS handshake (see progress.clientTrace). A dial
// that completes in time is unaffected and its connection is pooled as
// usual.
func dialFunc(d *net.Dialer) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		p := progressFrom(ctx)
		if p != nil {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(ctx)
			defer cancel()
			defer context.AfterFunc(p.ctx, cancel)()
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &causeConn{Conn: raw}
		if p != nil {
			p.dialled.Store(c)
		}
		return c, nil
	}
}
