package luaserde

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// newState returns a Lua state with a `kumo` global carrying this module.
func newState(t testing.TB) *lua.LState {
	t.Helper()
	L := lua.NewState()
	t.Cleanup(L.Close)
	kumo := L.NewTable()
	Open(L, kumo)
	L.SetGlobal("kumo", kumo)
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

// evalErr runs a chunk that must raise, and returns the error text.
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
