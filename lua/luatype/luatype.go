// Package luatype builds userdata metatables that every Lua state of the process shares.
//
// A session's send calls a handful of methods per message (client:post, request:header, :body,
// :send, response:status_code, msg:get_data, ...). With a metatable per state, each of those calls
// looks up two maps that belong to the state and, with dozens of session states taking turns, are
// out of the CPU's caches by the time the state runs again: in `hookd bench` with 32 connections,
// the table lookups of a send cost ~11 µs per record, against ~3 µs with 2 connections. One
// metatable per type, shared, stays warm.
//
// Sharing is safe only while no state can change a shared table or function (a concurrent Go map
// write is fatal, not an error). So every shared metatable has __metatable set (getmetatable and
// debug.getmetatable return false, setmetatable refuses), the tables are reachable from no
// registry, and Protect replaces the functions that could reach a Go function's environment.
package luatype

import (
	"sync"

	glua "github.com/yuin/gopher-lua"
)

// protectedKey marks, in a state's registry, that Protect ran.
const protectedKey = "hookd.luatype.protected"

// Type is one userdata type's shared metatable.
type Type struct {
	Name string

	once  sync.Once
	build func(b *Builder)
	mt    *glua.LTable
}

// Builder fills in a type's metatable once, on a private state that no script ever runs in.
type Builder struct {
	L  *glua.LState
	MT *glua.LTable
}

// Func wraps fn as a function the shared tables can hold.
func (b *Builder) Func(fn glua.LGFunction) *glua.LFunction { return b.L.NewFunction(fn) }

// Methods sets __index to a table of methods.
func (b *Builder) Methods(methods map[string]glua.LGFunction) *glua.LTable {
	t := b.L.SetFuncs(b.L.NewTable(), methods)
	b.MT.RawSetString("__index", t)
	return t
}

// New declares a type; build runs once, when a state first needs the metatable.
func New(name string, build func(b *Builder)) *Type {
	return &Type{Name: name, build: build}
}

// Metatable returns the shared metatable, building it on first use.
func (t *Type) Metatable() *glua.LTable {
	t.once.Do(func() {
		L := glua.NewState(glua.Options{SkipOpenLibs: true})
		defer L.Close()
		b := &Builder{L: L, MT: L.NewTable()}
		t.build(b)
		b.MT.RawSetString("__metatable", glua.LFalse)
		t.mt = b.MT
	})
	return t.mt
}

// Wrap returns a new userdata of this type holding v.
func (t *Type) Wrap(L *glua.LState, v any) *glua.LUserData {
	ud := L.NewUserData()
	ud.Value = v
	ud.Metatable = t.Metatable()
	return ud
}

// Is reports whether ud is of this type.
func (t *Type) Is(ud *glua.LUserData) bool { return ud.Metatable == glua.LValue(t.Metatable()) }

// Protect keeps the scripts of L away from the shared functions' environments: getfenv and
// debug.getfenv give a Go function's caller the state's globals (what Lua 5.1 gives for a C
// function) instead of the builder's table, and debug.setfenv refuses Go functions, as setfenv
// already does. Every package that hands out shared types calls it; a state is protected once.
func Protect(L *glua.LState) {
	if L.G.Registry.RawGetString(protectedKey) == glua.LTrue {
		return
	}
	L.G.Registry.RawSetString(protectedKey, glua.LTrue)
	getfenv := func(get glua.LGFunction) *glua.LFunction {
		return L.NewFunction(func(L *glua.LState) int {
			if fn, ok := L.Get(1).(*glua.LFunction); ok && fn.IsG {
				L.Push(L.G.Global)
				return 1
			}
			return get(L)
		})
	}
	if base, ok := L.GetGlobal("getfenv").(*glua.LFunction); ok && base.IsG {
		L.SetGlobal("getfenv", getfenv(base.GFunction))
	}
	dbg, ok := L.GetGlobal("debug").(*glua.LTable)
	if !ok {
		return
	}
	if get, ok := dbg.RawGetString("getfenv").(*glua.LFunction); ok && get.IsG {
		dbg.RawSetString("getfenv", getfenv(get.GFunction))
	}
	if set, ok := dbg.RawGetString("setfenv").(*glua.LFunction); ok && set.IsG {
		inner := set.GFunction
		dbg.RawSetString("setfenv", L.NewFunction(func(L *glua.LState) int {
			if fn, ok := L.Get(1).(*glua.LFunction); ok && fn.IsG {
				L.RaiseError("cannot change the environment of a Go function")
			}
			return inner(L)
		}))
	}
}
