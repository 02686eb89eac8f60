package luahttp

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// newState returns a Lua state with `kumo.http` installed and the global
// `url` pointing at base.
func newState(t testing.TB, base string, opts Options) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	t.Cleanup(closeIdleConnections)
	kumo := L.NewTable()
	Open(L, kumo, opts)
	L.SetGlobal("kumo", kumo)
	L.SetGlobal("url", lua.LString(base))
	return L
}

// eval runs a chunk that returns one value and hands it back.
func eval(t testing.TB, L *lua.LState, src string) lua.LValue {
	t.Helper()
	if err := L.DoString(src); err != nil {
		t.Fatalf("running %q: %v", src, err)
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// evalErr runs a chunk that must raise and returns the error text.
func evalErr(t testing.TB, L *lua.LState, src string) string {
	t.Helper()
	err := L.DoString(src)
	if err == nil {
		t.Fatalf("running %q: expected a Lua error, got none", src)
	}
	return err.Error()
}

func assertContains(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("expected %q to contain %q", got, want)
	}
}

// seen is what the test server recorded about one request.
type seen struct {
	method string
	path   string
	header http.Header
	body   string
	form   map[string][]string // multipart fields, when the body was one
}

// testServer is a loopback HTTP server whose behaviour is chosen by query
// parameters: status=N (default 200), body=TEXT, hang=1 (wait until the
// client goes away), chunked=1 (no Content-Length), size=N (N bytes of
// body). It records every request and counts new connections.
type testServer struct {
	*httptest.Server
	requests chan seen
	newConns atomic.Int64
	done     chan struct{}
}

func newTestServer(t testing.TB, tls bool) *testServer {
	t.Helper()
	ts := &testServer{requests: make(chan seen, 64), done: make(chan struct{})}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ts.handle))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // expected TLS handshake failures
	srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			ts.newConns.Add(1)
		}
	}
	if tls {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	ts.Server = srv
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(ts.done) }) // runs first: releases hung handlers
	return ts
}

func (ts *testServer) handle(w http.ResponseWriter, r *http.Request) {
	rec := seen{method: r.Method, path: r.URL.Path, header: r.Header.Clone()}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err == nil {
			rec.form = r.MultipartForm.Value
		}
	} else {
		b, _ := io.ReadAll(r.Body)
		rec.body = string(b)
	}
	select {
	case ts.requests <- rec:
	default:
	}
	q := r.URL.Query()
	if q.Get("hang") != "" {
		select {
		case <-r.Context().Done():
		case <-ts.done:
		}
		return
	}
	w.Header().Set("X-Single", "one")
	w.Header().Add("X-Multi", "a")
	w.Header().Add("X-Multi", "b")
	status := 200
	if s := q.Get("status"); s != "" {
		status, _ = strconv.Atoi(s)
	}
	body := q.Get("body")
	if n, err := strconv.Atoi(q.Get("size")); err == nil {
		body = strings.Repeat("x", n)
	}
	if q.Get("chunked") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(status)
	io.WriteString(w, body)
	if q.Get("chunked") != "" {
		w.(http.Flusher).Flush()
	}
}

// last returns the most recent request the server recorded.
func (ts *testServer) last(t testing.TB) seen {
	t.Helper()
	select {
	case rec := <-ts.requests:
		return rec
	default:
		t.Fatal("the server recorded no request")
		return seen{}
	}
}

// clientOf returns the Go side of the client in global name.
func clientOf(t testing.TB, L *lua.LState, name string) *client {
	t.Helper()
	ud, ok := L.GetGlobal(name).(*lua.LUserData)
	if !ok {
		t.Fatalf("global %s is not a client", name)
	}
	return ud.Value.(*client)
}
