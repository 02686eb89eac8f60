package luahttp

import (
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// FuzzRequestBuilder feeds arbitrary URLs, headers, bodies and timeouts to
// the request builder (without sending) and checks that bad input only
// ever raises Lua errors, never Go panics, and that an accepted header
// cannot smuggle in another header line.
func FuzzRequestBuilder(f *testing.F) {
	f.Add("http://example.com/hook", "Content-Type", "application/json", `{"a":1}`, "1m 30s")
	f.Add("https://u:p@[::1]:8443/x?y", "X-Bad Name", "a\r\nb", "\xff", "-1s")
	f.Add("ftp://x", "", "", "", "")
	f.Fuzz(func(t *testing.T, rawURL, name, value, body, timeout string) {
		L := lua.NewState()
		defer L.Close()
		kumo := L.NewTable()
		Open(L, kumo, Options{})
		L.SetGlobal("kumo", kumo)
		for k, v := range map[string]string{"u": rawURL, "name": name, "value": value, "body": body, "t": timeout} {
			L.SetGlobal(k, lua.LString(v))
		}
		err := L.DoString(`req = kumo.http.build_client{}:post(u):header(name, value):body(body):timeout(t)`)
		var apiErr *lua.ApiError
		if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorPanic {
			t.Fatalf("Go panic escaped: %v", err)
		}
		if err != nil {
			return
		}
		r := L.GetGlobal("req").(*lua.LUserData).Value.(*request)
		for k, vs := range r.header {
			for _, v := range vs {
				if strings.ContainsAny(k, ":\r\n ") || strings.ContainsAny(v, "\r\n\x00") {
					t.Fatalf("accepted an unsafe header %q: %q", k, v)
				}
			}
		}
	})
}
