package luahttp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http/httptrace"
	"sync/atomic"
)

// stage is how far one HTTP exchange got. Errors name it, so that a slow
// or broken webhook can be told apart from a slow or broken network: a
// timeout "while waiting for the response headers" is a server that took
// the request and never answered; one "while reading the response body"
// is a server that answered and then stalled.
type stage int32

const (
	stageConnecting stage = iota
	stageTLSHandshake
	stageSending
	stageAwaiting100
	stageSendingBody
	stageAwaitingHeaders
	stageReceivingHeaders
	stageReadingBody
)

var stageNames = [...]string{
	stageConnecting:       "connecting",
	stageTLSHandshake:     "doing the TLS handshake",
	stageSending:          "sending the request",
	stageAwaiting100:      "waiting for 100 Continue",
	stageSendingBody:      "sending the request body",
	stageAwaitingHeaders:  "waiting for the response headers",
	stageReceivingHeaders: "receiving the response headers",
	stageReadingBody:      "reading the response body",
}

// progress follows one request (and the redirects it follows) through the
// transport. net/http calls the trace hooks from its own goroutines, hence
// the atomics.
type progress struct {
	ctx       context.Context // ends when the exchange does
	stage     atomic.Int32
	redirects atomic.Int32
	conn      atomic.Pointer[causeConn] // the connection in use, if known
	dialled   atomic.Pointer[causeConn] // the last connection dialled for it
	trace     *httptrace.ClientTrace    // for net/http's transport; see clientTrace
}

// progressKey finds a request's progress in its context, for the redirect
// policy.
type progressKey struct{}

// reach moves the exchange forward to s. It never moves backwards, so a
// hook that fires late (a dial the transport no longer needs, say) cannot
// make the description wrong.
func (p *progress) reach(s stage) {
	for {
		old := p.stage.Load()
		if old >= int32(s) || p.stage.CompareAndSwap(old, int32(s)) {
			return
		}
	}
}

// redirected starts the description over for the next hop.
func (p *progress) redirected() {
	p.redirects.Add(1)
	p.stage.Store(int32(stageConnecting))
}

// describe says where the exchange was, as in "while waiting for the
// response headers, after 2 redirects".
func (p *progress) describe() string {
	s := "while " + stageNames[p.stage.Load()]
	switch n := p.redirects.Load(); n {
	case 0:
		return s
	case 1:
		return s + ", after 1 redirect"
	default:
		return fmt.Sprintf("%s, after %d redirects", s, n)
	}
}

// withProgress returns ctx, which bounds the exchange, carrying p. The
// transport advances p: h1Transport itself, net/http through the hooks of
// clientTrace, which it is handed only for the exchanges it makes.
func (p *progress) withProgress(ctx context.Context) context.Context {
	p.ctx = ctx
	return context.WithValue(ctx, progressKey{}, p)
}

// to moves the exchange forward to s unless it has ended. Hooks that fire
// once the exchange has ended do not advance the stage: net/http reports
// a request as written when it gives up waiting for 100 Continue because
// the request was cancelled, for one.
func (p *progress) to(s stage) {
	if p.ctx.Err() == nil {
		p.reach(s)
	}
}

// gotConn is told of the connection the request goes out on.
func (p *progress) gotConn(c net.Conn) {
	p.conn.Store(causeConnOf(httptrace.GotConnInfo{Conn: c}))
	p.to(stageSending)
}

// wroteRequest is told that the request has been written.
func (p *progress) wroteRequest(err error) {
	if err == nil {
		p.to(stageAwaitingHeaders)
	}
}

// clientTrace returns the trace hooks that advance p as net/http's
// transport goes, made at the first exchange handed to it (redirects
// reuse them). It is called on the goroutine that sends the request.
//
// The TLS hooks also run for a dial net/http carries on after the request
// is gone; they abandon the handshake of the connection dialled for the
// request once the exchange has ended. Either the hook sees it ended, or
// the AfterFunc finds the handshake started; both may, and abandon is
// idempotent.
//
// Got1xxResponse is deliberately not set: when it is, net/http resets its
// response header limit after every informational response, so a server
// sending 1xx responses forever would be read without bound.
func (p *progress) clientTrace() *httptrace.ClientTrace {
	if p.trace != nil {
		return p.trace
	}
	ctx := p.ctx
	p.trace = &httptrace.ClientTrace{
		TLSHandshakeStart: func() {
			p.to(stageTLSHandshake)
			if c := p.dialled.Load(); c != nil && c.tls.CompareAndSwap(tlsNone, tlsHandshaking) {
				context.AfterFunc(ctx, c.abandon)
				if ctx.Err() != nil {
					c.abandon()
				}
			}
		},
		TLSHandshakeDone: func(tls.ConnectionState, error) {
			if c := p.dialled.Load(); c != nil {
				c.tls.CompareAndSwap(tlsHandshaking, tlsDone)
			}
		},
		GotConn:              func(info httptrace.GotConnInfo) { p.gotConn(info.Conn) },
		Wait100Continue:      func() { p.to(stageAwaiting100) },
		Got100Continue:       func() { p.to(stageSendingBody) },
		WroteRequest:         func(info httptrace.WroteRequestInfo) { p.wroteRequest(info.Err) },
		GotFirstResponseByte: func() { p.to(stageReceivingHeaders) },
	}
	return p.trace
}

func progressFrom(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}
