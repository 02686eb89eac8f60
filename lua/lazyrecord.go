package lua

import (
	"sort"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/message"
)

// A policy reads a few fields of msg:get_meta('log_record') (type, reception_protocol, perhaps
// response.code), yet building the whole table costs more than the rest of the hook decision. So the
// table starts empty and converts a field the first time it is read (__index); iterating it (pairs,
// next) or serialising it (kumo.json_encode, set_meta, ...) first completes it. Writes to a field not
// yet read (__newindex) win over the record's value, a nil written included.

// recordFieldNames are the record's Lua field names, in a fixed order: a field's index is its bit in
// lazyRecord.resolved.
var recordFieldNames = func() []string {
	names := make([]string, 0, len(recordFields))
	for k := range recordFields {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}()

var recordFieldIndex = func() map[string]int {
	m := make(map[string]int, len(recordFieldNames))
	for i, k := range recordFieldNames {
		m[k] = i
	}
	return m
}()

// lazyRecord is the state behind one log_record table.
type lazyRecord struct {
	L        *glua.LState
	rec      *message.LogRecord
	resolved uint64 // fields already converted (or written by the policy)
}

// Expand converts every field not resolved yet.
func (z *lazyRecord) Expand(t *glua.LTable) {
	all := uint64(1)<<len(recordFieldNames) - 1
	if z.resolved == all {
		return
	}
	for i, k := range recordFieldNames {
		if z.resolved&(1<<i) == 0 {
			if v := recordFields[k](z.L, z.rec); v != glua.LNil {
				t.RawSetString(k, v)
			}
		}
	}
	z.resolved = all
}

// lazyRecordTable returns the log_record table of r, converting fields as they are read.
func lazyRecordTable(L *glua.LState, r *message.LogRecord) *glua.LTable {
	index, ok := L.G.Registry.RawGetString("hookd.lazy_index").(*glua.LFunction)
	if !ok {
		index = L.NewFunction(lazyIndex)
		L.G.Registry.RawSetString("hookd.lazy_index", index)
	}
	newIndex, ok := L.G.Registry.RawGetString("hookd.lazy_newindex").(*glua.LFunction)
	if !ok {
		newIndex = L.NewFunction(lazyNewIndex)
		L.G.Registry.RawSetString("hookd.lazy_newindex", newIndex)
	}
	z := &lazyRecord{L: L, rec: r}
	ud := L.NewUserData()
	ud.Value = z
	mt := L.CreateTable(0, 3)
	mt.RawSetString("__index", index)
	mt.RawSetString("__newindex", newIndex)
	mt.RawSetString(luaserde.ExpandKey, ud)
	t := L.CreateTable(0, 4) // most policies read two or three fields
	t.Metatable = mt
	return t
}

// lazyOf returns the state behind a lazy log_record table.
func lazyOf(t *glua.LTable) *lazyRecord {
	if mt, ok := t.Metatable.(*glua.LTable); ok {
		if ud, ok := mt.RawGetString(luaserde.ExpandKey).(*glua.LUserData); ok {
			z, _ := ud.Value.(*lazyRecord)
			return z
		}
	}
	return nil
}

// lazyIndex is __index(t, k): the first read of a field converts it.
func lazyIndex(L *glua.LState) int {
	t := L.CheckTable(1)
	k, ok := L.Get(2).(glua.LString)
	z := lazyOf(t)
	if !ok || z == nil {
		L.Push(glua.LNil)
		return 1
	}
	i, known := recordFieldIndex[string(k)]
	if !known || z.resolved&(1<<i) != 0 {
		L.Push(glua.LNil)
		return 1
	}
	z.resolved |= 1 << i
	v := recordFields[string(k)](L, z.rec)
	if v != glua.LNil {
		t.RawSetString(string(k), v)
	}
	L.Push(v)
	return 1
}

// lazyNewIndex is __newindex(t, k, v): a write to a field not read yet replaces the record's value.
func lazyNewIndex(L *glua.LState) int {
	t := L.CheckTable(1)
	k := L.Get(2)
	if s, ok := k.(glua.LString); ok {
		if z := lazyOf(t); z != nil {
			if i, known := recordFieldIndex[string(s)]; known {
				z.resolved |= 1 << i
			}
		}
	}
	t.RawSet(k, L.Get(3))
	return 0
}

// installIteration replaces pairs and next with versions that complete a lazy table before walking
// it. Everything else about them is the base library's.
func installIteration(L *glua.LState) {
	next := func(L *glua.LState) int {
		t := L.CheckTable(1)
		luaserde.Expand(t)
		k, v := t.Next(L.Get(2))
		if k == glua.LNil {
			L.Push(glua.LNil)
			return 1
		}
		L.Push(k)
		L.Push(v)
		return 2
	}
	nextFn := L.NewFunction(next)
	L.SetGlobal("next", nextFn)
	L.SetGlobal("pairs", L.NewFunction(func(L *glua.LState) int {
		t := L.CheckTable(1)
		luaserde.Expand(t)
		L.Push(nextFn)
		L.Push(t)
		L.Push(glua.LNil)
		return 3
	}))
}
