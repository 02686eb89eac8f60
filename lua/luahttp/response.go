package luahttp

import (
	"net/http"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// response is the Go side of a kumo.http response userdata. The body has
// already been read; consumed is set once text() or bytes() hands it out.
type response struct {
	status        int
	header        http.Header
	contentLength int64 // -1: unknown
	body          []byte
	consumed      bool
}

// errBrokenResponse is KumoMTA's error text for a response used after its
// body was consumed.
const errBrokenResponse = "broken response wrapper"

var responseMethods = map[string]lua.LGFunction{
	"status_code":             responseStatusCode,
	"status_reason":           responseStatusReason,
	"status_is_informational": statusClass(100),
	"status_is_success":       statusClass(200),
	"status_is_redirection":   statusClass(300),
	"status_is_client_error":  statusClass(400),
	"status_is_server_error":  statusClass(500),
	"headers":                 responseHeaders,
	"content_length":          responseContentLength,
	"text":                    responseText,
	"bytes":                   responseBytes,
}

func checkResponse(L *lua.LState) *response {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if r, ok := ud.Value.(*response); ok {
			return r
		}
	}
	L.ArgError(1, "HTTP response expected; call response methods with ':' (response:status_code())")
	return nil
}

// checkUnconsumed is checkResponse for the methods that stop working once
// the body has been consumed.
func checkUnconsumed(L *lua.LState) *response {
	r := checkResponse(L)
	if r.consumed {
		L.RaiseError(errBrokenResponse)
	}
	return r
}

func responseStatusCode(L *lua.LState) int {
	L.Push(statusValue(checkResponse(L).status).code)
	return 1
}

func responseStatusReason(L *lua.LState) int {
	L.Push(statusValue(checkResponse(L).status).reason)
	return 1
}

// statusLua is a status code and its reason (nil for a code without one) as Lua values.
type statusLua struct{ code, reason lua.LValue }

// statusValues are every status code's Lua values, boxed once: a send reads the code and the reason
// of every response, and boxing a number or a string for Lua allocates each time.
var statusValues = func() (vs [600]statusLua) {
	for code := range vs {
		vs[code] = statusValueOf(code)
	}
	return vs
}()

func statusValue(code int) statusLua {
	if code >= 0 && code < len(statusValues) {
		return statusValues[code]
	}
	return statusValueOf(code)
}

func statusValueOf(code int) (v statusLua) {
	v.code, v.reason = lua.LNumber(code), lua.LNil
	if reason := http.StatusText(code); reason != "" {
		v.reason = lua.LString(reason)
	}
	return v
}

// statusClass returns a predicate for the status codes in [base, base+100).
func statusClass(base int) lua.LGFunction {
	return func(L *lua.LState) int {
		s := checkResponse(L).status
		L.Push(lua.LBool(s >= base && s < base+100))
		return 1
	}
}

// responseHeaders returns a plain table of lower-case header names to
// values (repeated headers joined with ", "), with a metatable that makes
// lookups case-insensitive.
func responseHeaders(L *lua.LState) int {
	r := checkUnconsumed(L)
	tbl := L.CreateTable(0, len(r.header))
	for name, values := range r.header {
		tbl.RawSetString(strings.ToLower(name), lua.LString(strings.Join(values, ", ")))
	}
	tbl.Metatable = headersT.Metatable()
	L.Push(tbl)
	return 1
}

// headerIndex is the __index of header tables: it retries a missed string
// key in lower case.
func headerIndex(L *lua.LState) int {
	tbl := L.CheckTable(1)
	if key, ok := L.Get(2).(lua.LString); ok {
		L.Push(tbl.RawGetString(strings.ToLower(string(key))))
		return 1
	}
	L.Push(lua.LNil)
	return 1
}

func responseContentLength(L *lua.LState) int {
	r := checkUnconsumed(L)
	if r.contentLength >= 0 {
		L.Push(lua.LNumber(r.contentLength))
	} else {
		L.Push(lua.LNil)
	}
	return 1
}

// takeBody hands out the body once.
func takeBody(L *lua.LState) []byte {
	r := checkUnconsumed(L)
	body := r.body
	r.body, r.consumed = nil, true
	return body
}

func responseText(L *lua.LState) int {
	L.Push(lua.LString(strings.ToValidUTF8(string(takeBody(L)), "\ufffd")))
	return 1
}

func responseBytes(L *lua.LState) int {
	L.Push(lua.LString(takeBody(L)))
	return 1
}
