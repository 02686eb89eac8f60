package luahttp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

func TestTimeoutsRaiseLuaErrors(t *testing.T) {
	srv := newTestServer(t, false)
	fast := func(s string) (time.Duration, error) {
		if s == "fast" {
			return 50 * time.Millisecond, nil
		}
		return 0, errors.New("unknown")
	}
	cases := []struct {
		name string
		opts Options
		lua  string
		want string
	}{
		{"a per-request timeout in seconds", Options{}, `kumo.http.build_client{}:get(url):timeout(0.05):send()`, "timed out after 50ms"},
		{"a per-request timeout as a duration string", Options{}, `kumo.http.build_client{}:get(url):timeout("50ms"):send()`, "timed out after 50ms"},
		{"the client timeout option", Options{}, `kumo.http.build_client{timeout="50ms"}:post(url):send()`, "kumo.http: POST " + srv.URL + "/?hang=1 timed out after 50ms"},
		{"a request timeout overrides the client's", Options{}, `kumo.http.build_client{timeout=3600}:get(url):timeout(0.05):send()`, "timed out after 50ms"},
		{"duration strings go through Options.ParseDuration", Options{ParseDuration: fast}, `kumo.http.build_client{timeout="fast"}:get(url):send()`, "timed out after 50ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, srv.URL+"/?hang=1", tc.opts)
			assertContains(t, evalErr(t, L, tc.lua), tc.want)
		})
	}
}

func TestTransportFailuresRaiseLuaErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	tlsSrv := newTestServer(t, true)

	cases := []struct {
		name string
		url  string
		lua  string
		want []string
	}{
		{"a closed port names the method, URL and cause", closed, `kumo.http.build_client{}:post(url):send()`,
			[]string{"kumo.http: POST " + closed + " failed:", "connection refused"}},
		{"a password in the URL is redacted", strings.Replace(closed, "http://", "http://user:secret@", 1), `kumo.http.build_client{}:get(url):send()`,
			[]string{"user:xxxxx@"}},
		{"an untrusted certificate is refused by default", tlsSrv.URL, `kumo.http.build_client{}:get(url):send()`,
			[]string{"GET " + tlsSrv.URL, "certificate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, tc.url, Options{})
			msg := evalErr(t, L, tc.lua)
			for _, want := range tc.want {
				assertContains(t, msg, want)
			}
			if strings.Contains(msg, "secret") {
				t.Fatalf("error %q leaks the password", msg)
			}
		})
	}
}

func TestAcceptInvalidCertsReachesASelfSignedServer(t *testing.T) {
	srv := newTestServer(t, true)
	L := newState(t, srv.URL+"/?body=ok", Options{})
	got := eval(t, L, `return kumo.http.build_client{accept_invalid_certs=true}:get(url):send():text()`)
	if got.String() != "ok" {
		t.Fatalf("body = %q", got.String())
	}
}

func TestCloseStopsOnlyThatClient(t *testing.T) {
	srv := newTestServer(t, false)
	cases := []struct {
		name string
		lua  string
		want string // empty: must succeed
	}{
		{"a new request after close raises", `a:close(); a:get(url)`, "client was closed"},
		{"a request built before close raises at send", `local r = a:post(url); a:close(); r:send()`, "client was closed"},
		{"close may be called twice", `a:close(); a:close(); return true`, ""},
		{"another client keeps working", `a:get(url):send(); a:close(); return b:get(url):send():status_code() == 200`, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			L := newState(t, srv.URL, Options{})
			prelude := "a = kumo.http.build_client{}; b = kumo.http.build_client{}; "
			if tc.want != "" {
				assertContains(t, evalErr(t, L, prelude+tc.lua), tc.want)
				return
			}
			if got := eval(t, L, prelude+tc.lua); got != lua.LTrue {
				t.Fatalf("got %v", got)
			}
		})
	}
}

func TestConnectionsAreReused(t *testing.T) {
	cases := []struct {
		name string
		lua  string
	}{
		{"sequential requests through one client share one connection",
			`local c = kumo.http.build_client{} for i = 1, 10 do c:post(url):body("x"):send() end`},
		{"requests whose body is never read still return the connection",
			`local c = kumo.http.build_client{} for i = 1, 10 do c:get(url .. "/?body=unread") :send() end`},
		{"error statuses do not cost a connection",
			`local c = kumo.http.build_client{} for i = 1, 10 do c:get(url .. "/?status=500&body=no"):send() end`},
		{"clients built one after another share the pool",
			`for i = 1, 10 do local c = kumo.http.build_client{} c:get(url):send() c:close() end`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, false)
			L := newState(t, srv.URL, Options{})
			eval(t, L, tc.lua+" return true")
			if n := srv.newConns.Load(); n != 1 {
				t.Fatalf("the server saw %d new connections, want 1", n)
			}
		})
	}
}

func TestSendStopsWhenItsContextIsCancelled(t *testing.T) {
	srv := newTestServer(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	L := newState(t, srv.URL+"/?hang=1", Options{})
	eval(t, L, `req = kumo.http.build_client{}:get(url); return true`)
	req := L.GetGlobal("req").(*lua.LUserData).Value.(*request)

	// Cancel once the server has the request, then wait for the outcome.
	go func() {
		<-srv.requests
		cancel()
	}()
	_, err := req.do(ctx)
	if err == nil {
		t.Fatal("send succeeded although the context was cancelled")
	}
	assertContains(t, err.Error(), "kumo.http: GET "+srv.URL+"/?hang=1 was cancelled: context canceled")
}

func TestSendUsesTheLStateContext(t *testing.T) {
	srv := newTestServer(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	L := newState(t, srv.URL+"/?hang=1", Options{})
	L.SetContext(ctx)
	go func() {
		<-srv.requests
		cancel()
	}()
	msg := evalErr(t, L, `kumo.http.build_client{}:get(url):send()`)
	if !strings.Contains(msg, "cancel") {
		t.Fatalf("error %q does not mention the cancellation", msg)
	}
}

func TestSharedTransports(t *testing.T) {
	base := &http.Transport{IdleConnTimeout: 7 * time.Second}
	cases := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"the default transport keeps many idle connections per host", func(t *testing.T) {
			tr := sharedTransport(nil, false, 0)
			if tr.MaxIdleConnsPerHost != maxIdleConnsPerHost || tr.MaxIdleConns != maxIdleConns || tr.IdleConnTimeout != defaultIdleTimeout {
				t.Fatalf("pool settings %d/%d/%v", tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tr.IdleConnTimeout)
			}
		}},
		{"the same settings give the same transport", func(t *testing.T) {
			if sharedTransport(nil, false, 0) != sharedTransport(nil, false, defaultIdleTimeout) {
				t.Fatal("two transports for the default settings")
			}
		}},
		{"accept_invalid_certs gets its own transport", func(t *testing.T) {
			tr := sharedTransport(nil, true, 0)
			if tr == sharedTransport(nil, false, 0) || !tr.TLSClientConfig.InsecureSkipVerify {
				t.Fatal("insecure transport shared with the verifying one")
			}
		}},
		{"pool_idle_timeout sets the idle timeout", func(t *testing.T) {
			if tr := sharedTransport(nil, false, 42*time.Second); tr.IdleConnTimeout != 42*time.Second {
				t.Fatalf("IdleConnTimeout %v", tr.IdleConnTimeout)
			}
		}},
		{"a base transport is used as is when nothing differs", func(t *testing.T) {
			if sharedTransport(base, false, 0) != base || sharedTransport(base, false, 7*time.Second) != base {
				t.Fatal("base transport not used")
			}
		}},
		{"a base transport is cloned for invalid certs", func(t *testing.T) {
			tr := sharedTransport(base, true, 0)
			if tr == base || !tr.TLSClientConfig.InsecureSkipVerify || tr.IdleConnTimeout != 7*time.Second {
				t.Fatal("the clone does not skip verification with the base's idle timeout")
			}
			// net/http may fill in the base's TLS config for HTTP/2 when
			// cloning; it must still verify certificates.
			if base.TLSClientConfig != nil && base.TLSClientConfig.InsecureSkipVerify {
				t.Fatal("the base transport was made insecure")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.check)
	}
}

// TestClientURLsInTurn: a client keeps the URL it last parsed; requests to other URLs, back to the
// first, and to an invalid one each go where (or fail as) their own URL says.
func TestClientURLsInTurn(t *testing.T) {
	srv := newTestServer(t, false)
	L := newState(t, srv.URL, Options{})
	eval(t, L, `client = kumo.http.build_client{} return true`)
	for _, path := range []string{"/a", "/a", "/b", "/a?x=1"} {
		eval(t, L, `return client:post(url .. '`+path+`'):body('x'):send():status_code()`)
		if got := srv.last(t); got.path != strings.SplitN(path, "?", 2)[0] || got.method != "POST" {
			t.Fatalf("a POST to %s reached %s %s", path, got.method, got.path)
		}
	}
	assertContains(t, evalErr(t, L, `client:get('ftp://example.com/')`), "scheme must be http or https")
	eval(t, L, `return client:get(url .. '/c'):send():status_code()`)
	if got := srv.last(t); got.path != "/c" || got.method != "GET" {
		t.Fatalf("a GET to /c after a refused URL reached %s %s", got.method, got.path)
	}
}
