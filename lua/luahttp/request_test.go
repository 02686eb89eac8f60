package luahttp

import (
	"encoding/base64"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

func TestRequestBuilderSendsWhatItWasTold(t *testing.T) {
	cases := []struct {
		name  string
		lua   string
		check func(t *testing.T, got seen)
	}{
		{"get sends a GET without a body",
			`c:get(url .. "/path"):send()`,
			func(t *testing.T, got seen) {
				if got.method != "GET" || got.path != "/path" || got.body != "" {
					t.Fatalf("got %s %s body %q", got.method, got.path, got.body)
				}
			}},
		{"put sends a PUT with its body",
			`c:put(url):body("payload"):send()`,
			func(t *testing.T, got seen) {
				if got.method != "PUT" || got.body != "payload" {
					t.Fatalf("got %s body %q", got.method, got.body)
				}
			}},
		{"post sends the body and a header added with header()",
			`c:post(url):header("Content-Type", "application/json"):body('{"a":1}'):send()`,
			func(t *testing.T, got seen) {
				if got.method != "POST" || got.body != `{"a":1}` || got.header.Get("Content-Type") != "application/json" {
					t.Fatalf("got %s %q %v", got.method, got.body, got.header)
				}
			}},
		{"headers() adds every pair and header() appends repeats",
			`c:post(url):headers{["X-A"]="1", ["X-B"]="2"}:header("X-A", "3"):send()`,
			func(t *testing.T, got seen) {
				if a := got.header.Values("X-A"); len(a) != 2 || a[0] != "1" || a[1] != "3" || got.header.Get("X-B") != "2" {
					t.Fatalf("headers %v", got.header)
				}
			}},
		{"basic_auth with a password sends user:pass",
			`c:get(url):basic_auth("user", "secret"):send()`,
			func(t *testing.T, got seen) { wantAuth(t, got, "Basic "+b64("user:secret")) }},
		{"basic_auth without a password sends user:",
			`c:get(url):basic_auth("user"):send()`,
			func(t *testing.T, got seen) { wantAuth(t, got, "Basic "+b64("user:")) }},
		{"bearer_auth sends a bearer token",
			`c:get(url):bearer_auth("tok123"):send()`,
			func(t *testing.T, got seen) { wantAuth(t, got, "Bearer tok123") }},
		{"form_url_encoded encodes the table and sets the content type",
			`c:post(url):form_url_encoded{b="x y", a=1}:send()`,
			func(t *testing.T, got seen) {
				if got.body != "a=1&b=x+y" || got.header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Fatalf("body %q content type %q", got.body, got.header.Get("Content-Type"))
				}
			}},
		{"form_multipart_data sends each pair as a form field",
			`c:post(url):form_multipart_data{name="hook", n="2"}:send()`,
			func(t *testing.T, got seen) {
				if len(got.form["name"]) != 1 || got.form["name"][0] != "hook" || got.form["n"][0] != "2" {
					t.Fatalf("form %v (content type %q)", got.form, got.header.Get("Content-Type"))
				}
			}},
		{"a client user_agent is sent by default",
			`c = kumo.http.build_client{user_agent="hookd-test/1"}; c:get(url):send()`,
			func(t *testing.T, got seen) {
				if ua := got.header.Get("User-Agent"); ua != "hookd-test/1" {
					t.Fatalf("User-Agent %q", ua)
				}
			}},
		{"a request User-Agent header overrides the client's",
			`c = kumo.http.build_client{user_agent="hookd-test/1"}; c:get(url):header("User-Agent", "mine"):send()`,
			func(t *testing.T, got seen) {
				if ua := got.header.Get("User-Agent"); ua != "mine" {
					t.Fatalf("User-Agent %q", ua)
				}
			}},
	}
	srv := newTestServer(t, false)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, srv.URL, Options{})
			eval(t, L, "c = kumo.http.build_client{}; "+tc.lua+"; return true")
			tc.check(t, srv.last(t))
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func wantAuth(t *testing.T, got seen, want string) {
	t.Helper()
	if auth := got.header.Get("Authorization"); auth != want {
		t.Fatalf("Authorization = %q, want %q", auth, want)
	}
}

func TestRequestBuilderRejectsBadInput(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string
	}{
		{"a request is single use", `local r = c:get(url); r:send(); r:header("a", "b")`, "broken request builder"},
		{"a request cannot be sent twice", `local r = c:get(url); r:send(); r:send()`, "broken request builder"},
		{"aws_sign_v4 is not supported", `c:get(url):aws_sign_v4{}`, "aws_sign_v4 is not supported by hookd"},
		{"a URL must parse", `c:get("http://[::1")`, "kumo.http: invalid URL"},
		{"a URL must be http or https", `c:get("ftp://example.com/")`, "the scheme must be http or https"},
		{"a URL must have a host", `c:get("http:///path")`, "no host"},
		{"a header name must be a token", `c:get(url):header("Bad Name", "v")`, `invalid header name "Bad Name"`},
		{"a header value cannot hold a newline", `c:get(url):header("X", "a\r\nEvil: 1")`, `invalid value for header "X"`},
		{"headers() needs string pairs", `c:get(url):headers{X={}}`, "keys and values must be strings or numbers, got table"},
		{"a body must be UTF-8 text", `c:post(url):body("\255")`, "body must be valid UTF-8 text"},
		{"a negative timeout is rejected", `c:get(url):timeout(-1)`, "timeout: -1 is not a valid number of seconds"},
		{"an infinite timeout is rejected", `c:get(url):timeout(1/0)`, "is not a valid number of seconds"},
		{"an unparsable timeout is rejected", `c:get(url):timeout("soon")`, `timeout: invalid duration "soon"`},
		{"a negative timeout string is rejected", `c:get(url):timeout("-5s")`, `duration "-5s" is negative`},
		{"a timeout must be a number or string", `c:get(url):timeout(true)`, "must be a number of seconds or a duration string, got boolean"},
		{"client methods need colon syntax", `c.get(url)`, "call client methods with ':'"},
		{"request methods need colon syntax", `local r = c:get(url); r.send()`, "call request methods with ':'"},
	}
	srv := newTestServer(t, false)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, srv.URL, Options{})
			assertContains(t, evalErr(t, L, "c = kumo.http.build_client{}; "+tc.lua), tc.want)
		})
	}
}

func TestBuildClientValidatesOptions(t *testing.T) {
	cases := []struct {
		name string
		lua  string
		want string // empty: must succeed
	}{
		{"all options are accepted", `kumo.http.build_client{user_agent="a", connection_verbose=true, pool_idle_timeout="30s", timeout=5, accept_invalid_certs=false}`, ""},
		{"unknown keys are ignored", `kumo.http.build_client{no_such_option=1}`, ""},
		{"no table at all is accepted", `kumo.http.build_client()`, ""},
		{"a fractional timeout in seconds is accepted", `kumo.http.build_client{timeout=0.25}`, ""},
		{"user_agent must be a string", `kumo.http.build_client{user_agent=1}`, "user_agent must be a string, got number"},
		{"accept_invalid_certs must be a boolean", `kumo.http.build_client{accept_invalid_certs="yes"}`, "accept_invalid_certs must be a boolean, got string"},
		{"connection_verbose must be a boolean", `kumo.http.build_client{connection_verbose=1}`, "connection_verbose must be a boolean"},
		{"timeout must be a valid duration", `kumo.http.build_client{timeout="later"}`, `timeout: invalid duration "later"`},
		{"pool_idle_timeout cannot be negative", `kumo.http.build_client{pool_idle_timeout=-3}`, "pool_idle_timeout: -3 is not a valid number of seconds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, "http://127.0.0.1", Options{})
			if tc.want == "" {
				eval(t, L, "return "+tc.lua)
				return
			}
			assertContains(t, evalErr(t, L, tc.lua), tc.want)
		})
	}
}

func TestStringPairsAreSortedByKey(t *testing.T) {
	L := newState(t, "http://127.0.0.1", Options{})
	tbl := eval(t, L, `return {c="3", a="1", [2]="two"}`)
	pairs := stringPairs(L, tbl.(*lua.LTable), "test")
	var keys []string
	for _, kv := range pairs {
		keys = append(keys, kv[0])
	}
	if got := strings.Join(keys, ","); got != "2,a,c" {
		t.Fatalf("keys in order %q", got)
	}
}
