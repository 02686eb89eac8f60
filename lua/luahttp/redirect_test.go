package luahttp

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// newRedirector starts a server (TLS or not) that answers every request
// with a redirect to `to` using status.
func newRedirector(t testing.TB, tls bool, status int, to string) *httptest.Server {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, status) })
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv
}

// redirectCall POSTs with credentials and a body and returns the status.
const redirectCall = `return kumo.http.build_client{timeout=5, accept_invalid_certs=insecure}:post(url)
	:header("Authorization", "Bearer secret"):header("Cookie", "session=1"):header("X-Keep", "1")
	:body("payload"):send():status_code()`

// TestRedirectsFollowed documents which redirects send() follows and what
// it sends on: like reqwest, up to 10 redirects to any host and between
// http and https; 307/308 resend the method and body, 301/302/303 turn a
// POST into a GET; credentials only go to the origin the script named.
func TestRedirectsFollowed(t *testing.T) {
	type check func(t *testing.T, got seen)
	credentials := func(want bool) check {
		return func(t *testing.T, got seen) {
			if has := got.header.Get("Authorization") != "" || got.header.Get("Cookie") != ""; has != want {
				t.Fatalf("credentials sent: %v, want %v (headers %v)", has, want, got.header)
			}
			if got.header.Get("X-Keep") != "1" {
				t.Fatalf("other headers were dropped: %v", got.header)
			}
		}
	}
	method := func(m, body string) check {
		return func(t *testing.T, got seen) {
			if got.method != m || got.body != body {
				t.Fatalf("the target got %s with body %q, want %s with %q", got.method, got.body, m, body)
			}
		}
	}
	cases := []struct {
		name      string
		fromTLS   bool
		toTLS     bool
		status    int
		target    func(u string) string // the URL to redirect to, from the target server's
		insecure  bool
		checks    []check
		wantError string // empty: the target answers 200
	}{
		{"307 to the same origin keeps everything", false, false, http.StatusTemporaryRedirect,
			nil, false, []check{method("POST", "payload"), credentials(true)}, ""},
		{"307 to another host resends the body but not the credentials", false, false, http.StatusTemporaryRedirect,
			func(u string) string { return strings.Replace(u, "127.0.0.1", "localhost", 1) },
			false, []check{method("POST", "payload"), credentials(false)}, ""},
		{"308 to another port on the same host drops the credentials", false, false, http.StatusPermanentRedirect,
			func(u string) string { return u }, false, []check{method("POST", "payload"), credentials(false)}, ""},
		{"302 turns the POST into a GET without a body", false, false, http.StatusFound,
			func(u string) string { return u }, false, []check{method("GET", "")}, ""},
		{"303 turns the POST into a GET without a body", false, false, http.StatusSeeOther,
			func(u string) string { return u }, false, []check{method("GET", "")}, ""},
		{"http to https is followed and the certificate checked", false, true, http.StatusTemporaryRedirect,
			func(u string) string { return u }, false, nil,
			"certificate signed by unknown authority (while doing the TLS handshake, after 1 redirect)"},
		{"http to https is followed, without credentials", false, true, http.StatusTemporaryRedirect,
			func(u string) string { return u }, true, []check{method("POST", "payload"), credentials(false)}, ""},
		{"https to http is followed, without credentials", true, false, http.StatusTemporaryRedirect,
			func(u string) string { return u }, true, []check{method("POST", "payload"), credentials(false)}, ""},
		{"a redirect to another scheme fails", false, false, http.StatusFound,
			func(string) string { return "ftp://127.0.0.1/x" }, false, nil,
			`failed: unsupported protocol scheme "ftp" (while connecting, after 1 redirect)`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			target := newTestServer(t, tc.toTLS)
			var from string
			if tc.target == nil { // redirect within the target server
				from = target.URL + "/from?status=" + strconv.Itoa(tc.status)
				target.Config.Handler = sameOrigin(target.Config.Handler, tc.status)
			} else {
				from = newRedirector(t, tc.fromTLS, tc.status, tc.target(target.URL)+"/to").URL
			}
			L := newState(t, from, Options{})
			L.SetGlobal("insecure", lua.LBool(tc.insecure))
			if tc.wantError != "" {
				assertContains(t, evalErr(t, L, redirectCall), tc.wantError)
				return
			}
			if got := eval(t, L, redirectCall); got != lua.LNumber(200) {
				t.Fatalf("status %v", got)
			}
			got := target.last(t)
			if got.path != "/to" {
				t.Fatalf("the target got %s", got.path)
			}
			for _, check := range tc.checks {
				check(t, got)
			}
		})
	}
}

// sameOrigin makes /from redirect to /to on the same server and leaves
// the rest to next.
func sameOrigin(next http.Handler, status int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/from" {
			http.Redirect(w, r, "/to", status)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// TestRedirectLimit follows a chain of numbered redirects: 10 are
// followed, the 11th is refused with the loop error.
func TestRedirectLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if n > 0 {
			http.Redirect(w, r, fmt.Sprintf("/%d", n-1), http.StatusFound)
			return
		}
		w.Write([]byte("landed"))
	}))
	t.Cleanup(srv.Close)
	L := newState(t, srv.URL, Options{})
	if got := eval(t, L, `return kumo.http.build_client{}:get(url .. "/10"):send():text()`); got.String() != "landed" {
		t.Fatalf("after 10 redirects got %q", got.String())
	}
	assertContains(t, evalErr(t, L, `kumo.http.build_client{}:get(url .. "/11"):send()`),
		"kumo.http: GET "+srv.URL+"/11 failed: stopped after 10 redirects (a redirect loop?); the last one pointed to "+srv.URL+"/0")
}

// TestTimeoutCoversEveryHop redirects to a server that never answers: the
// one request timeout ends the whole chain.
func TestTimeoutCoversEveryHop(t *testing.T) {
	silent := newRawServer(t, "http", func(c *rawConn) { c.drain() })
	from := newRedirector(t, false, http.StatusTemporaryRedirect, silent.url)
	L := newState(t, from.URL, Options{})
	msg, _, err := callErr(L, `kumo.http.build_client{timeout=0.1}:post(url):body("{}"):send()`)
	if err != nil {
		t.Fatal(err)
	}
	assertContains(t, msg, "kumo.http: POST "+from.URL+" timed out after 100ms (while waiting for the response headers, after 1 redirect)")
}
