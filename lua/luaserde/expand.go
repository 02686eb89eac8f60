package luaserde

import lua "github.com/yuin/gopher-lua"

// ExpandKey is the metatable field that marks a table whose members are produced on demand (the
// table msg:get_meta('log_record') returns converts each field when it is first read). Its value is
// a userdata whose Value is an Expander.
const ExpandKey = "__hookd_expand"

// Expander completes a table whose members are produced on demand.
type Expander interface{ Expand(t *lua.LTable) }

// Expand completes t when it is such a table, so that iterating it sees every member. Serialising
// and iterating code calls it before walking a table.
func Expand(t *lua.LTable) {
	mt, ok := t.Metatable.(*lua.LTable)
	if !ok {
		return
	}
	if ud, ok := mt.RawGetString(ExpandKey).(*lua.LUserData); ok {
		if x, ok := ud.Value.(Expander); ok {
			x.Expand(t)
		}
	}
}
