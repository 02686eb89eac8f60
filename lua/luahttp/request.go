package luahttp

import (
	"bytes"
	"cmp"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"time"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"
)

// request is the Go side of a kumo.http request builder userdata.
type request struct {
	client     *client
	method     string
	url        *url.URL
	header     http.Header
	body       string
	hasBody    bool // body was set (an empty body is still sent with a Content-Length of 0)
	timeout    time.Duration
	timeoutSet bool // false: use the client's timeout
	sent       bool
}

// errBrokenRequest is KumoMTA's error text for a request used after send.
const errBrokenRequest = "broken request builder"

var requestMethods = map[string]lua.LGFunction{
	"header":              requestHeader,
	"headers":             requestHeaders,
	"basic_auth":          requestBasicAuth,
	"bearer_auth":         requestBearerAuth,
	"body":                requestBody,
	"form_url_encoded":    requestFormURLEncoded,
	"form_multipart_data": requestFormMultipart,
	"timeout":             requestTimeout,
	"aws_sign_v4":         requestAWSSignV4,
	"send":                requestSend,
}

// checkRequest returns the request that argument 1 holds, raising a Lua
// error when it is not one or has already been sent.
func checkRequest(L *lua.LState) *request {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if r, ok := ud.Value.(*request); ok {
			if r.sent {
				L.RaiseError(errBrokenRequest)
			}
			return r
		}
	}
	L.ArgError(1, "HTTP request expected; call request methods with ':' (request:send())")
	return nil
}

// chain returns the request itself so that builder calls can be chained.
func chain(L *lua.LState) int {
	L.Push(L.Get(1))
	return 1
}

func requestHeader(L *lua.LState) int {
	r := checkRequest(L)
	addHeader(L, r.header, L.CheckString(2), L.CheckString(3))
	return chain(L)
}

func requestHeaders(L *lua.LState) int {
	r := checkRequest(L)
	for _, kv := range stringPairs(L, L.CheckTable(2), "headers") {
		addHeader(L, r.header, kv[0], kv[1])
	}
	return chain(L)
}

// addHeader appends a header after checking that it can be sent, so that a
// bad header fails at the call that added it rather than at send().
func addHeader(L *lua.LState, h http.Header, name, value string) {
	if !validHeaderName(name) {
		L.RaiseError("kumo.http: invalid header name %q", name)
	}
	if !validHeaderValue(value) {
		L.RaiseError("kumo.http: invalid value for header %q: control characters are not allowed", name)
	}
	h.Add(name, value)
}

func requestBasicAuth(L *lua.LState) int {
	r := checkRequest(L)
	req := http.Request{Header: r.header}
	req.SetBasicAuth(L.CheckString(2), L.OptString(3, ""))
	return chain(L)
}

func requestBearerAuth(L *lua.LState) int {
	r := checkRequest(L)
	token := L.CheckString(2)
	if !validHeaderValue(token) {
		L.RaiseError("kumo.http: invalid bearer token: control characters are not allowed")
	}
	r.header.Set("Authorization", "Bearer "+token)
	return chain(L)
}

func requestBody(L *lua.LState) int {
	r := checkRequest(L)
	body := L.CheckString(2)
	if !utf8.ValidString(body) {
		L.RaiseError("kumo.http: body must be valid UTF-8 text")
	}
	r.body, r.hasBody = body, true // the Lua string itself: no copy of a large body
	return chain(L)
}

func requestFormURLEncoded(L *lua.LState) int {
	r := checkRequest(L)
	form := url.Values{}
	for _, kv := range stringPairs(L, L.CheckTable(2), "form_url_encoded") {
		form.Add(kv[0], kv[1])
	}
	r.body, r.hasBody = form.Encode(), true
	r.header.Set("Content-Type", "application/x-www-form-urlencoded")
	return chain(L)
}

func requestFormMultipart(L *lua.LState) int {
	r := checkRequest(L)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, kv := range stringPairs(L, L.CheckTable(2), "form_multipart_data") {
		if err := w.WriteField(kv[0], kv[1]); err != nil {
			L.RaiseError("kumo.http: form_multipart_data: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		L.RaiseError("kumo.http: form_multipart_data: %v", err)
	}
	r.body, r.hasBody = buf.String(), true
	r.header.Set("Content-Type", w.FormDataContentType())
	return chain(L)
}

func requestTimeout(L *lua.LState) int {
	r := checkRequest(L)
	r.timeout = toDuration(L, 2, "timeout", L.CheckAny(2), r.client.parseDuration)
	r.timeoutSet = true
	return chain(L)
}

func requestAWSSignV4(L *lua.LState) int {
	checkRequest(L)
	L.RaiseError("kumo.http: aws_sign_v4 is not supported by hookd")
	return 0
}

// stringPairs returns the entries of a table of string (or number) keys
// and values, sorted by key so that bodies and header order are
// deterministic.
func stringPairs(L *lua.LState, tbl *lua.LTable, what string) [][2]string {
	var pairs [][2]string
	var bad lua.LValue
	tbl.ForEach(func(k, v lua.LValue) {
		ks, kok := textValue(k)
		vs, vok := textValue(v)
		if !kok {
			bad = k
		} else if !vok {
			bad = v
		}
		pairs = append(pairs, [2]string{ks, vs})
	})
	if bad != nil {
		L.RaiseError("kumo.http: %s: keys and values must be strings or numbers, got %s", what, bad.Type())
	}
	slices.SortFunc(pairs, func(a, b [2]string) int { return cmp.Compare(a[0], b[0]) })
	return pairs
}

// textValue converts strings and numbers, which Lua treats as text.
func textValue(v lua.LValue) (string, bool) {
	switch x := v.(type) {
	case lua.LString:
		return string(x), true
	case lua.LNumber:
		return x.String(), true
	}
	return "", false
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue rejects the control characters (CR, LF, NUL, ...) that
// would let a value break out of its header line; tab is allowed.
func validHeaderValue(value string) bool {
	for i := 0; i < len(value); i++ {
		if c := value[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
