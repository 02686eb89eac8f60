package engine

import (
	"maps"
	"time"

	"github.com/hookd/hookd/lua"
)

// Func is a Go function the policy calls as kumo.NAME(...) (Config.Functions). Arguments are plain
// Go values: nil, bool, int64 (an integral number), float64, string, []any (a Lua sequence) and
// map[string]any (any other table). A result may be any of those, another number, slice or map, or a
// struct (converted through its JSON encoding). A returned error is raised in Lua as "kumo.NAME: error", with the policy's
// location, so the policy can pcall it.
type Func func(args ...any) (any, error)

func functions(fns map[string]Func) map[string]lua.Func {
	if len(fns) == 0 {
		return nil
	}
	out := make(map[string]lua.Func, len(fns))
	for name, fn := range fns {
		out[name] = lua.Func(fn)
	}
	return out
}

// DefaultLuaMemoryLimit is the memory one Lua state may hold when Config.LuaMemoryLimit is 0.
const DefaultLuaMemoryLimit int64 = 64 << 20

// DefaultLuaDeadlines returns the deadlines of calls into the policy by kind ("config",
// "should_enqueue_log_record", "get_queue_config", "constructor", "send", "close", ...): the kinds
// Config.LuaDeadlines may set, with the value each takes when it is not set.
func DefaultLuaDeadlines() map[string]time.Duration { return maps.Clone(lua.DefaultDeadlines) }
