package lua

import (
	"sort"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua/luaserde"
	"github.com/hookd/hookd/lua/luatype"
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

// A lazy table's state is a member of the table itself, under lazyKey (a name no record field or
// policy uses), and its metatable is one shared by every state (luatype): a metatable per table cost
// about ten allocations per record, most of what building the table cost. Iterating the table (pairs,
// next) and serialising it skip that member; completing the table removes it and the metatable, so a
// complete table is a plain one. getmetatable and setmetatable complete a lazy table first, so a
// policy sees a plain table there too.
const lazyKey = "\x00hookd.lazy_record"

// lazyRecordType is set in init: its metamethods refer to it.
var lazyRecordType *luatype.Type

func init() {
	lazyRecordType = luatype.New("hookd.LazyRecord", func(b *luatype.Builder) {
		b.MT.RawSetString("__index", b.Func(lazyIndex))
		b.MT.RawSetString("__newindex", b.Func(lazyNewIndex))
		ud := b.L.NewUserData()
		ud.Value = lazyExpander{}
		b.MT.RawSetString(luaserde.ExpandKey, ud)
	})
}

// lazyRecord is the state behind one log_record table.
type lazyRecord struct {
	L        *glua.LState
	rec      *message.LogRecord
	resolved uint64 // fields already converted (or written by the policy)
}

// lazyExpander completes whichever lazy table luaserde.Expand is given.
type lazyExpander struct{}

func (lazyExpander) Expand(t *glua.LTable) {
	if z := lazyOf(t); z != nil {
		z.complete(t)
	}
}

// complete converts every field not resolved yet, then makes t a plain table.
func (z *lazyRecord) complete(t *glua.LTable) {
	for i, k := range recordFieldNames {
		if z.resolved&(1<<i) == 0 {
			if v := recordFields[k](z.L, z.rec); v != glua.LNil {
				t.RawSetString(k, v)
			}
		}
	}
	z.resolved = uint64(1)<<len(recordFieldNames) - 1
	t.RawSetString(lazyKey, glua.LNil)
	t.Metatable = glua.LNil
}

// lazyRecordTable returns the log_record table of r, converting fields as they are read.
func lazyRecordTable(L *glua.LState, r *message.LogRecord) *glua.LTable {
	ud := L.NewUserData()
	ud.Value = &lazyRecord{L: L, rec: r}
	t := L.CreateTable(0, 4) // most policies read two or three fields
	t.RawSetString(lazyKey, ud)
	t.Metatable = lazyRecordType.Metatable()
	return t
}

// lazyOf returns the state behind a lazy log_record table, or nil for any other table.
func lazyOf(t *glua.LTable) *lazyRecord {
	if t.Metatable != glua.LValue(lazyRecordType.Metatable()) {
		return nil
	}
	if ud, ok := t.RawGetString(lazyKey).(*glua.LUserData); ok {
		z, _ := ud.Value.(*lazyRecord)
		return z
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
		if string(s) == lazyKey {
			L.RaiseError("%q is reserved", lazyKey)
		}
		if z := lazyOf(t); z != nil {
			if i, known := recordFieldIndex[string(s)]; known {
				z.resolved |= 1 << i
			}
		}
	}
	t.RawSet(k, L.Get(3))
	return 0
}

// installLazyTableViews replaces pairs and next with versions that complete a lazy table before walking
// it, and getmetatable and setmetatable with versions that complete it before looking at its
// metatable. Everything else about them is the base library's.
func installLazyTableViews(L *glua.LState) {
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
	for _, name := range []string{"getmetatable", "setmetatable"} {
		if base, ok := L.GetGlobal(name).(*glua.LFunction); ok && base.IsG {
			inner := base.GFunction
			L.SetGlobal(name, L.NewFunction(func(L *glua.LState) int {
				if t, ok := L.Get(1).(*glua.LTable); ok {
					lazyExpander{}.Expand(t)
				}
				return inner(L)
			}))
		}
	}
}
