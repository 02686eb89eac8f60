package luahttp

import (
	"net/http"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestResponseStatusAccessors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		reason string // "nil" when there is none
		class  string // the one status_is_* predicate that must be true
	}{
		{"200 is a success and does not raise", 200, "OK", "success"},
		{"204 is a success", 204, "No Content", "success"},
		{"302 without Location is returned as a redirection", 302, "Found", "redirection"},
		{"404 is a client error and does not raise", 404, "Not Found", "client_error"},
		{"429 is a client error", 429, "Too Many Requests", "client_error"},
		{"500 is a server error and does not raise", 500, "Internal Server Error", "server_error"},
		{"503 is a server error", 503, "Service Unavailable", "server_error"},
		{"an unassigned code has no reason", 299, "nil", "success"},
	}
	classes := []string{"informational", "success", "redirection", "client_error", "server_error"}
	srv := newTestServer(t, false)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, srv.URL, Options{})
			L.SetGlobal("status", lua.LNumber(tc.status))
			eval(t, L, `resp = kumo.http.build_client{}:get(url .. "/?status=" .. status):send(); return true`)
			if got := eval(t, L, `return resp:status_code()`); got != lua.LNumber(tc.status) {
				t.Fatalf("status_code = %v", got)
			}
			if got := eval(t, L, `return tostring(resp:status_reason())`).String(); got != tc.reason {
				t.Fatalf("status_reason = %q, want %q", got, tc.reason)
			}
			for _, class := range classes {
				got := eval(t, L, `return resp:status_is_`+class+`()`)
				if want := lua.LBool(class == tc.class); got != want {
					t.Fatalf("status_is_%s() = %v, want %v", class, got, want)
				}
			}
		})
	}
}

func TestInformationalStatusPredicate(t *testing.T) {
	L := newState(t, "http://127.0.0.1", Options{})
	ud := responseT.Wrap(L, &response{status: http.StatusSwitchingProtocols, contentLength: -1})
	L.SetGlobal("resp", ud)
	if got := eval(t, L, `return resp:status_is_informational() and not resp:status_is_success()`); got != lua.LTrue {
		t.Fatal("101 is not reported as informational")
	}
	if got := eval(t, L, `return resp:status_reason()`).String(); got != "Switching Protocols" {
		t.Fatalf("status_reason = %q", got)
	}
}

func TestResponseHeadersAndLength(t *testing.T) {
	srv := newTestServer(t, false)
	cases := []struct {
		name string
		path string
		lua  string
		want string
	}{
		{"header names are lower case keys", "/?body=hello", `return h["x-single"]`, "one"},
		{"lookups ignore case", "/?body=hello", `return h["X-Single"] .. h["CONTENT-LENGTH"]`, "one5"},
		{"repeated headers are joined", "/?body=hello", `return h["x-multi"]`, "a, b"},
		{"pairs iterates lower-case names", "/?body=hello",
			`local names = {} for k in pairs(h) do if k:sub(1, 2) == "x-" then names[#names+1] = k end end table.sort(names) return table.concat(names, ",")`,
			"x-multi,x-single"},
		{"a missing header is nil", "/", `return tostring(h["x-none"])`, "nil"},
		{"content_length reports a declared length", "/?body=hello", `return resp:content_length()`, "5"},
		{"content_length is nil for a chunked body", "/?body=hello&chunked=1", `return tostring(resp:content_length())`, "nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, srv.URL+tc.path, Options{})
			eval(t, L, `resp = kumo.http.build_client{}:get(url):send(); h = resp:headers(); return true`)
			if got := eval(t, L, tc.lua).String(); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResponseBodyIsConsumedOnce(t *testing.T) {
	srv := newTestServer(t, false)
	reads := []string{"text", "bytes"}
	after := []string{"text", "bytes", "headers", "content_length"}
	for _, first := range reads {
		for _, then := range after {
			t.Run("after "+first+"() "+then+"() raises broken response wrapper", func(t *testing.T) {
				L := newState(t, srv.URL+"/?body=hello&status=500", Options{})
				got := eval(t, L, `resp = kumo.http.build_client{}:post(url):send(); return resp:`+first+`()`)
				if got.String() != "hello" {
					t.Fatalf("%s() = %q", first, got.String())
				}
				assertContains(t, evalErr(t, L, `resp:`+then+`()`), "broken response wrapper")
				if code := eval(t, L, `return resp:status_code()`); code != lua.LNumber(500) {
					t.Fatalf("status_code after consumption = %v", code)
				}
			})
		}
	}
}

func TestResponseTextAndBytes(t *testing.T) {
	L := newState(t, "http://127.0.0.1", Options{})
	for _, tc := range []struct {
		name, method, want string
	}{
		{"text replaces invalid UTF-8", "text", "a\ufffdb"},
		{"bytes returns the raw body", "bytes", "a\xffb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ud := responseT.Wrap(L, &response{status: 200, contentLength: 3, body: []byte("a\xffb")})
			L.SetGlobal("resp", ud)
			if got := eval(t, L, `return resp:`+tc.method+`()`).String(); got != tc.want {
				t.Fatalf("%s() = %q, want %q", tc.method, got, tc.want)
			}
		})
	}
}

func TestResponseBodyIsBounded(t *testing.T) {
	old := bodyLimit
	bodyLimit = 1000
	t.Cleanup(func() { bodyLimit = old })
	srv := newTestServer(t, false)
	t.Run("a body at the limit is read", func(t *testing.T) {
		L := newState(t, srv.URL+"/?size=1000", Options{})
		if got := eval(t, L, `return #kumo.http.build_client{}:get(url):send():bytes()`); got != lua.LNumber(1000) {
			t.Fatalf("read %v bytes", got)
		}
	})
	t.Run("a body past the limit raises", func(t *testing.T) {
		L := newState(t, srv.URL+"/?size=1001", Options{})
		msg := evalErr(t, L, `kumo.http.build_client{}:get(url):send()`)
		assertContains(t, msg, "the response body exceeds the limit of 1000 bytes")
		if !strings.Contains(msg, "GET "+srv.URL) {
			t.Fatalf("error %q does not name the request", msg)
		}
	})
}

// TestStatusValues: the boxed values match what converting each code gives, inside the table and
// past it.
func TestStatusValues(t *testing.T) {
	for _, code := range []int{0, 100, 200, 299, 404, 599, 600, 799, 999} {
		got, want := statusValue(code), statusValueOf(code)
		if got != want || got.code != lua.LNumber(code) {
			t.Fatalf("status %d: %v, want %v", code, got, want)
		}
	}
	if statusValue(503).reason != lua.LString("Service Unavailable") || statusValue(799).reason != lua.LNil {
		t.Fatal("reasons")
	}
}
