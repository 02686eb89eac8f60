package luahttp

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// BenchmarkPostRoundTrip measures one webhook-style POST through the Lua
// API against a loopback server, reusing one client as a session does.
func BenchmarkPostRoundTrip(b *testing.B) {
	srv := newTestServer(b, false)
	L := newState(b, srv.URL+"/?body=ok", Options{})
	eval(b, L, `
client = kumo.http.build_client{}
function deliver(payload)
  local resp = client:post(url):header("Content-Type", "application/json"):body(payload):send()
  return resp:text()
end
return true`)
	deliver := L.GetGlobal("deliver")
	payload := lua.LString(`{"type":"Delivery","id":"1d98076abbbc11ed940250ebf67f93bd","recipient":"user@example.net"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := L.CallByParam(lua.P{Fn: deliver, NRet: 1, Protect: true}, payload); err != nil {
			b.Fatal(err)
		}
		L.Pop(1)
		select { // keep the recording channel from filling up
		case <-srv.requests:
		default:
		}
	}
	if n := srv.newConns.Load(); n != 1 {
		b.Fatalf("%d connections for one session, want 1", n)
	}
}
