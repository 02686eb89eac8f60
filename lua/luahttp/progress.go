package luahttp

import (
	"context"
	"fmt"
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
// transport. The transport calls the trace hooks from its own goroutines,
// hence the atomics.
type progress struct {
	stage     atomic.Int32
	redirects atomic.Int32
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

// withTrace returns ctx carrying p and the trace hooks that advance it.
//
// Got1xxResponse is deliberately not set: when it is, net/http resets its
// response header limit after every informational response, so a server
// sending 1xx responses forever would be read without bound.
func (p *progress) withTrace(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, progressKey{}, p)
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		TLSHandshakeStart: func() { p.reach(stageTLSHandshake) },
		GotConn:           func(httptrace.GotConnInfo) { p.reach(stageSending) },
		Wait100Continue:   func() { p.reach(stageAwaiting100) },
		Got100Continue:    func() { p.reach(stageSendingBody) },
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				p.reach(stageAwaitingHeaders)
			}
		},
		GotFirstResponseByte: func() { p.reach(stageReceivingHeaders) },
	})
}

func progressFrom(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}
