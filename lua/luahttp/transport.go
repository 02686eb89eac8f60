package luahttp

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// Pool sizing for the shared transports.
//
// Every Lua delivery session builds its own client and sends its batches
// one at a time, so the number of connections to one webhook host is about
// the number of concurrent sessions for it: up to connection_limit (32 by
// default) per webhook queue, times the number of hooks pointing at the
// same host. Go's default of 2 idle connections per host would close all
// but two of those after every round trip and reopen them on the next one
// (a TCP, and often a TLS, handshake per request). 256 idle connections per
// host keeps eight full-size hook queues warm; 1024 in total bounds the
// idle file descriptors kept across all hosts. Active connections are not
// capped here: the sessions themselves bound concurrency.
const (
	maxIdleConnsPerHost = 256
	maxIdleConns        = 1024
	// defaultIdleTimeout is pool_idle_timeout when a client does not set it
	// (reqwest's default).
	defaultIdleTimeout = 90 * time.Second
	// maxTransports bounds how many distinct transports the package keeps.
	// Each distinct (base, accept_invalid_certs, pool_idle_timeout) gets
	// one; past the bound, clients asking for yet another idle timeout get
	// the default one for their TLS setting instead.
	maxTransports = 32
)

type transportKey struct {
	base     *http.Transport // nil: the package's own configuration
	insecure bool
	idle     time.Duration
}

var transports = struct {
	sync.Mutex
	m    map[transportKey]*http.Transport
	fast map[*http.Transport]*h1Transport
}{m: make(map[transportKey]*http.Transport), fast: make(map[*http.Transport]*h1Transport)}

// roundTripper is the transport clients use: an h1Transport on std, one per std transport.
func roundTripper(std *http.Transport) *h1Transport {
	transports.Lock()
	defer transports.Unlock()
	t, ok := transports.fast[std]
	if !ok {
		t = newH1Transport(std)
		transports.fast[std] = t
	}
	return t
}

// sharedTransport returns the process-wide transport for a client with the
// given settings. idle == 0 means pool_idle_timeout was not set. A base
// transport given in Options is returned as is when the client asks for
// nothing it does not already do; otherwise a clone of it is shared.
func sharedTransport(base *http.Transport, insecure bool, idle time.Duration) *http.Transport {
	if base != nil && !insecure && (idle == 0 || idle == base.IdleConnTimeout) {
		return base
	}
	defaultIdle := defaultIdleTimeout
	if base != nil {
		defaultIdle = base.IdleConnTimeout
	}
	if idle == 0 {
		idle = defaultIdle
	}
	key := transportKey{base: base, insecure: insecure, idle: idle}

	transports.Lock()
	defer transports.Unlock()
	if t, ok := transports.m[key]; ok {
		return t
	}
	if len(transports.m) >= maxTransports {
		key.idle = defaultIdle
		if t, ok := transports.m[key]; ok {
			return t
		}
	}
	t := newTransport(base)
	t.IdleConnTimeout = key.idle
	if insecure {
		cfg := &tls.Config{}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
		}
		cfg.InsecureSkipVerify = true
		t.TLSClientConfig = cfg
	}
	transports.m[key] = t
	return t
}

// Timeouts and bounds of the default transport.
//
// The request timeout (60 s unless the script sets one) bounds each
// send() from end to end through its context: connecting, the TLS
// handshake, sending, redirects, the response headers and the body. The
// transport is shared by clients with different timeouts, so its own
// timeouts are only backstops for steps that are never slow on a healthy
// network, and none of them can make a send() outlast its timeout:
//
//   - dialTimeout (30 s) and tlsHandshakeTimeout (10 s) stop a host that
//     does not accept, or accepts and then stalls the handshake, even for
//     a script that allows minutes for the webhook to answer.
//   - ResponseHeaderTimeout is left at zero (none): how long a webhook may
//     take to process a batch before it answers is exactly what the
//     script's timeout says, and one transport-wide value would cut the
//     longer timeouts short while adding nothing to the shorter ones.
//   - expectContinueTimeout (1 s) only matters for a script that sends
//     "Expect: 100-continue": after that long without an answer the body
//     is sent anyway, as RFC 9110 suggests. It is well below any useful
//     request timeout, which still bounds the wait.
//   - maxResponseHeaderBytes (1 MiB, net/http's default is 10 MiB) bounds
//     the status line, the headers and any 1xx responses before them; a
//     webhook's answer needs a few hundred bytes.
const (
	dialTimeout            = 30 * time.Second
	tlsHandshakeTimeout    = 10 * time.Second
	expectContinueTimeout  = time.Second
	maxResponseHeaderBytes = 1 << 20
)

// newTransport clones base, or builds the package's default transport:
// http.DefaultTransport's proxy handling with the timeouts and bounds
// above and pools sized as described at the top of this file.
func newTransport(base *http.Transport) *http.Transport {
	if base != nil {
		return base.Clone()
	}
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialFunc(dialer),
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    maxIdleConnsPerHost,
		IdleConnTimeout:        defaultIdleTimeout,
		TLSHandshakeTimeout:    tlsHandshakeTimeout,
		ExpectContinueTimeout:  expectContinueTimeout,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}
}
