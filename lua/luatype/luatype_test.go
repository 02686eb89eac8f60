package luatype

import (
	"sync"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

type counter struct{ n int }

var counterT = New("test.Counter", func(b *Builder) {
	b.Methods(map[string]glua.LGFunction{
		"add": func(L *glua.LState) int {
			c := L.CheckUserData(1).Value.(*counter)
			c.n += L.CheckInt(2)
			L.Push(glua.LNumber(c.n))
			return 1
		},
	})
})

func newState(t *testing.T) *glua.LState {
	t.Helper()
	L := glua.NewState()
	Protect(L)
	Protect(L) // as every package that hands out shared types does: the second call changes nothing
	t.Cleanup(L.Close)
	return L
}

func run(t *testing.T, L *glua.LState, src string) glua.LValue {
	t.Helper()
	if err := L.DoString(src); err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// TestSharedAcrossStates: two states' values of a type have one metatable, and its methods work in
// both.
func TestSharedAcrossStates(t *testing.T) {
	a, b := newState(t), newState(t)
	ua, ub := counterT.Wrap(a, &counter{}), counterT.Wrap(b, &counter{n: 10})
	if ua.Metatable != ub.Metatable || !counterT.Is(ua) || !counterT.Is(ub) {
		t.Fatal("the two states' counters do not share the type's metatable")
	}
	a.SetGlobal("c", ua)
	b.SetGlobal("c", ub)
	if got := run(t, a, `c:add(2) return c:add(3)`); got != glua.LNumber(5) {
		t.Fatalf("state a: %v", got)
	}
	if got := run(t, b, `return c:add(1)`); got != glua.LNumber(11) {
		t.Fatalf("state b: %v", got)
	}
	if counterT.Is(a.NewUserData()) {
		t.Fatal("a plain userdata passes for a counter")
	}
}

// TestScriptsCannotReachTheSharedTables: every way a script could get hold of a shared table or a
// shared function's environment is closed.
func TestScriptsCannotReachTheSharedTables(t *testing.T) {
	L := newState(t)
	L.SetGlobal("c", counterT.Wrap(L, &counter{}))
	L.SetGlobal("t", func() *glua.LTable {
		tbl := L.NewTable()
		tbl.Metatable = counterT.Metatable()
		return tbl
	}())
	for _, src := range []string{
		`return getmetatable(c) == false`,
		`return debug.getmetatable(c) == false`,
		`return getmetatable(t) == false`,
		`return not pcall(setmetatable, t, {})`,
		`return getfenv(c.add) == _G`,
		`return debug.getinfo(getfenv, "S").what == "G" and getfenv(1) == _G`,
		`return debug.getfenv(c.add) == _G`,
		`return not pcall(setfenv, c.add, {})`,
		`return not pcall(debug.setfenv, c.add, {})`,
		`local f = function() end; debug.setfenv(f, {x = 1}); return getfenv(f).x == 1`,
	} {
		if got := run(t, L, src); got != glua.LTrue {
			t.Errorf("%s: got %v", src, got)
		}
	}
	env := counterT.Metatable().RawGetString("__index").(*glua.LTable).RawGetString("add").(*glua.LFunction).Env
	if k, _ := env.Next(glua.LNil); k != glua.LNil {
		t.Errorf("a shared function's environment holds %v", k)
	}
}

// TestConcurrentStates: states on their own goroutines call methods of the shared tables and try
// every write a script can attempt (the race detector fails this test if one lands).
func TestConcurrentStates(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			L := glua.NewState()
			defer L.Close()
			Protect(L)
			L.SetGlobal("c", counterT.Wrap(L, &counter{}))
			err := L.DoString(`
				for i = 1, 200 do
					c:add(1)
					pcall(function() getmetatable(c).__index.add = nil end)
					pcall(function() debug.getmetatable(c).__index = nil end)
					pcall(function() getfenv(c.add).x = i end)
					pcall(function() debug.getfenv(c.add).y = i end)
					pcall(debug.setfenv, c.add, {})
				end
				assert(c:add(0) == 200)`)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// TestProtectOnce: a second Protect does not wrap the wrappers again.
func TestProtectOnce(t *testing.T) {
	L := glua.NewState()
	defer L.Close()
	Protect(L)
	first := L.GetGlobal("getfenv")
	Protect(L)
	if L.GetGlobal("getfenv") != first {
		t.Fatal("a second Protect replaced getfenv again")
	}
}
