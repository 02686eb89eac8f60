package luahttp

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luatype"
)

// Options configures the module for one LState.
type Options struct {
	// ParseDuration parses duration strings such as "10s" or "1m 30s"
	// (hookd wires in its humantime parser). When nil, time.ParseDuration
	// is used. Lua numbers are always seconds; floats are allowed and
	// negative values are errors.
	ParseDuration func(string) (time.Duration, error)
	// Transport, when set, is used by every client instead of the package's
	// shared default. Clients that set accept_invalid_certs or a
	// pool_idle_timeout different from its IdleConnTimeout get a shared
	// clone of it with those settings.
	Transport *http.Transport
}

// DefaultTimeout is the per-request timeout of a client built without the
// timeout option, as in KumoMTA.
const DefaultTimeout = 60 * time.Second

// Metatable names in the LState registry.
const (
	clientType   = "kumo.http.Client"
	requestType  = "kumo.http.Request"
	responseType = "kumo.http.Response"
	headersType  = "kumo.http.Headers"
)

// Open installs `http` into the kumo module table, so that Lua sees
// kumo.http.build_client.
func Open(L *lua.LState, kumo *lua.LTable, opts Options) {
	if opts.ParseDuration == nil {
		opts.ParseDuration = time.ParseDuration
	}
	luatype.Protect(L)
	mod := L.NewTable()
	mod.RawSetString("build_client", L.NewFunction(func(L *lua.LState) int {
		return buildClient(L, opts)
	}))
	kumo.RawSetString("http", mod)
}

// The types' metatables are shared by every state (see luatype).
var (
	clientT   = luatype.New(clientType, func(b *luatype.Builder) { b.Methods(clientMethods) })
	requestT  = luatype.New(requestType, func(b *luatype.Builder) { b.Methods(requestMethods) })
	responseT = luatype.New(responseType, func(b *luatype.Builder) { b.Methods(responseMethods) })
	headersT  = luatype.New(headersType, func(b *luatype.Builder) { b.MT.RawSetString("__index", b.Func(headerIndex)) })
)

// client is the Go side of a kumo.http client userdata.
type client struct {
	http          *http.Client
	userAgent     string
	timeout       time.Duration
	verbose       bool
	parseDuration func(string) (time.Duration, error)
	closed        atomic.Bool
	// The URL last requested, as given and parsed: a session posts to the same URL again and
	// again. Only the client's own LState uses these; the parsed URL is never modified.
	lastRaw string
	lastURL *url.URL
}

var clientMethods = map[string]lua.LGFunction{
	"get":   func(L *lua.LState) int { return newRequest(L, http.MethodGet) },
	"post":  func(L *lua.LState) int { return newRequest(L, http.MethodPost) },
	"put":   func(L *lua.LState) int { return newRequest(L, http.MethodPut) },
	"close": clientClose,
}

// buildClient implements kumo.http.build_client{...}. Unknown keys are
// ignored, as in KumoMTA.
func buildClient(L *lua.LState, opts Options) int {
	params := L.OptTable(1, L.NewTable())
	c := &client{timeout: DefaultTimeout, parseDuration: opts.ParseDuration}
	var insecure bool
	var idle time.Duration

	if v := params.RawGetString("user_agent"); v != lua.LNil {
		s, ok := v.(lua.LString)
		if !ok {
			L.ArgError(1, "user_agent must be a string, got "+v.Type().String())
		}
		c.userAgent = string(s)
	}
	c.verbose = optBool(L, params, "connection_verbose")
	insecure = optBool(L, params, "accept_invalid_certs")
	if v := params.RawGetString("timeout"); v != lua.LNil {
		c.timeout = toDuration(L, 1, "timeout", v, opts.ParseDuration)
	}
	if v := params.RawGetString("pool_idle_timeout"); v != lua.LNil {
		idle = toDuration(L, 1, "pool_idle_timeout", v, opts.ParseDuration)
		if idle == 0 {
			// 0 would mean "never expire" to net/http; keep the pool
			// from holding connections forever by using the smallest
			// real timeout instead.
			idle = time.Nanosecond
		}
	}
	// Timeouts are applied per request through contexts, so the
	// http.Client itself has none.
	c.http = &http.Client{
		Transport:     roundTripper(sharedTransport(opts.Transport, insecure, idle)),
		CheckRedirect: checkRedirect,
	}

	L.Push(clientT.Wrap(L, c))
	return 1
}

func optBool(L *lua.LState, params *lua.LTable, name string) bool {
	switch v := params.RawGetString(name).(type) {
	case *lua.LNilType:
		return false
	case lua.LBool:
		return bool(v)
	default:
		L.ArgError(1, name+" must be a boolean, got "+v.Type().String())
		return false
	}
}

// clientClose marks the client closed. The transport is shared with other
// clients, so its connections are left alone: idle ones expire through
// pool_idle_timeout.
func clientClose(L *lua.LState) int {
	checkClient(L).closed.Store(true)
	return 0
}

func checkClient(L *lua.LState) *client {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if c, ok := ud.Value.(*client); ok {
			return c
		}
	}
	L.ArgError(1, "HTTP client expected; call client methods with ':' (client:post(url))")
	return nil
}

// errClosed is the KumoMTA error text for a request on a closed client.
const errClosed = "client was closed"

func newRequest(L *lua.LState, method string) int {
	c := checkClient(L)
	raw := L.CheckString(2)
	if c.closed.Load() {
		L.RaiseError(errClosed)
	}
	u := c.lastURL
	if u == nil || raw != c.lastRaw {
		var err error
		if u, err = url.Parse(raw); err != nil {
			L.RaiseError("kumo.http: invalid URL: %v", err)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			L.RaiseError("kumo.http: invalid URL %q: the scheme must be http or https", u.Redacted())
		}
		if u.Host == "" {
			L.RaiseError("kumo.http: invalid URL %q: no host", u.Redacted())
		}
		c.lastRaw, c.lastURL = raw, u
	}
	r := &request{client: c, method: method, url: u, header: make(http.Header)}
	L.Push(requestT.Wrap(L, r))
	return 1
}

// toDuration converts a Lua duration: a number of seconds (fractions
// allowed) or a string for parse. Negative, NaN and out-of-range values
// raise an argument error for argument n naming the option.
func toDuration(L *lua.LState, n int, name string, v lua.LValue, parse func(string) (time.Duration, error)) time.Duration {
	switch x := v.(type) {
	case lua.LNumber:
		secs := float64(x)
		if !(secs >= 0) || secs*float64(time.Second) > float64(1<<63-1) {
			L.ArgError(n, fmt.Sprintf("%s: %v is not a valid number of seconds (must be finite and non-negative)", name, secs))
		}
		return time.Duration(secs * float64(time.Second))
	case lua.LString:
		d, err := parse(string(x))
		if err != nil {
			L.ArgError(n, fmt.Sprintf("%s: invalid duration %q: %v", name, string(x), err))
		}
		if d < 0 {
			L.ArgError(n, fmt.Sprintf("%s: duration %q is negative", name, string(x)))
		}
		return d
	default:
		L.ArgError(n, fmt.Sprintf("%s must be a number of seconds or a duration string, got %s", name, v.Type()))
		return 0
	}
}
