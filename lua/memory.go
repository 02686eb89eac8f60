package lua

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"runtime/metrics"
	"time"
	"unsafe"

	glua "github.com/yuin/gopher-lua"
)

// DefaultMemoryLimit bounds the memory one Lua state may hold when Options.MemoryLimit is 0.
const DefaultMemoryLimit = 64 << 20

// The meter looks at the process's allocation counter every checkEvery Lua instructions (about a
// millisecond of Lua) and at the end of every checkCalls-th call, which catches growth made by Go
// functions (string.rep, table.concat, kumo.*) in calls too short to run that many instructions.
// One look costs about half a microsecond, a handler call a few; both are powers of two.
const (
	checkEvery = 1 << 14
	checkCalls = 8
)

// meter is the context every call into a state runs under. gopher-lua asks a state's context for
// Done before each instruction, on the goroutine that runs the state, which makes Done the one
// place where hookd sees a running policy: it stops a call past its deadline (the timer cancels the
// context) and one whose state holds more than its memory limit.
//
// The limit is held by measuring the state, not the process: gopher-lua has no allocator hook and
// Go counts memory per process only. Measuring walks everything the state can reach (see
// stateSize), so it is done only when the process's numbers say the state could be past its limit:
// the live heap (as of the last collection) has grown by a quarter of the limit since the last
// walk, and the state's last size plus that growth passes the limit. A state cannot grow without
// the live heap growing, and a state that holds a lot but stays the same size is not walked again
// however much garbage the rest of the process makes. When no collection has run since the last
// walk (the collector is off, or has not caught up) the live figure is stale, and the state is then
// walked once the process has allocated four times the state's size, or its limit, since the last
// walk. A runaway state is thus stopped within one collection cycle of passing its limit.
type meter struct {
	context.Context
	cancel context.CancelCauseFunc
	timer  *time.Timer // fires at the running call's deadline; nil until a call has one
	armed  bool

	state  *State
	limit  int64  // bytes; 0 = none
	n      uint32 // instructions run
	calls  uint32 // calls ended
	size   int64  // the state's size at the last walk
	tables int    // tables seen by the last walk, to size the next one's set
	last   figures
	sample [3]metrics.Sample
}

func newMeter(s *State, limit int64) *meter {
	ctx, cancel := context.WithCancelCause(context.Background())
	m := &meter{Context: ctx, cancel: cancel, state: s, limit: limit}
	m.sample[0].Name = "/gc/heap/live:bytes"
	m.sample[1].Name = "/gc/heap/allocs:bytes"
	m.sample[2].Name = "/gc/cycles/total:gc-cycles"
	m.last = m.process()
	return m
}

// Done is called by the Lua VM before every instruction.
func (m *meter) Done() <-chan struct{} {
	m.n++
	if m.n&(checkEvery-1) == 0 && m.limit > 0 {
		m.check()
	}
	return m.Context.Done()
}

// Err reports why the state was stopped: context.DeadlineExceeded or a *memoryExceeded.
func (m *meter) Err() error {
	if m.Context.Err() == nil {
		return nil
	}
	return context.Cause(m.Context)
}

// ended is told of the end of a call.
func (m *meter) ended() {
	m.calls++
	if m.calls&(checkCalls-1) == 0 && m.limit > 0 && m.Context.Err() == nil {
		m.check()
	}
}

// figures are the process's memory numbers a meter goes by.
type figures struct {
	live   uint64 // the live heap as of the last collection
	allocs uint64 // bytes allocated since the process started
	cycles uint64 // collections completed
}

func (m *meter) process() figures {
	metrics.Read(m.sample[:])
	var f figures
	for i, p := range []*uint64{&f.live, &f.allocs, &f.cycles} {
		if m.sample[i].Value.Kind() == metrics.KindUint64 {
			*p = m.sample[i].Value.Uint64()
		}
	}
	return f
}

func (m *meter) check() {
	now := m.process()
	grown := int64(now.live) - int64(m.last.live)
	retained := grown >= m.limit/4 && m.size+grown > m.limit
	stale := now.cycles == m.last.cycles && int64(now.allocs-m.last.allocs) >= max(m.limit, 4*m.size)
	if !retained && !stale {
		return
	}
	m.size, m.tables = stateSize(m.state.L, m.limit+1, m.tables)
	m.last = m.process() // what the walk itself allocated is not the state's
	if m.size > m.limit {
		m.cancel(&memoryExceeded{limit: m.limit, size: m.size})
	}
}

// deadline arms the timer for a call that has a deadline.
func (m *meter) deadline(d time.Duration) {
	if m.timer == nil {
		m.timer = time.AfterFunc(d, func() { m.cancel(context.DeadlineExceeded) })
	} else {
		m.timer.Reset(d)
	}
	m.armed = true
}

// disarm stops the timer after a call; it reports false when the timer fired, perhaps just as the
// call returned.
func (m *meter) disarm() bool {
	m.armed = false
	return m.timer.Stop() || m.Context.Err() == nil
}

func (m *meter) stop() {
	if m.timer != nil {
		m.timer.Stop()
	}
	m.cancel(nil)
}

// memoryExceeded is the cause a meter cancels its state with when the state holds too much.
type memoryExceeded struct{ limit, size int64 }

func (e *memoryExceeded) Error() string {
	return fmt.Sprintf("Lua state holds %s, over its memory limit of %s", mib(e.size), mib(e.limit))
}

// MemoryError is a call into the policy that was stopped because its Lua state grew past the memory
// limit. The state is discarded, as after a deadline.
type MemoryError struct {
	Event string
	Limit int64 // bytes
	Where string
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("%s %s was stopped: its Lua state grew past the memory limit of %s (--lua-memory)",
		trimCause(e.Where), e.Event, mib(e.Limit))
}

func mib(n int64) string {
	if n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// ReleaseMemory returns the memory of discarded states to the operating system now instead of
// over the next minutes. Call it after a state that failed with a MemoryError has been closed and
// dropped: a runaway state can leave the heap at many times its usual size.
func ReleaseMemory() { go debug.FreeOSMemory() }

// stateSize estimates the bytes held by what a Lua state can reach: its globals, its registry, the
// locals of the running calls and everything those lead to. It stops counting past stop, and
// reports the number of tables it saw (tables is the last walk's number, a hint). Sizes
// follow the Go representation (a value slot is 16 bytes, a boxed number 8, a string its length
// plus its header); structures shared with every state (function prototypes, Go functions) are
// counted once per state.
func stateSize(L *glua.LState, stop int64, tables int) (size int64, seen int) {
	z := sizer{tables: make(map[*glua.LTable]struct{}, tables), others: map[glua.LValue]struct{}{}, stop: stop}
	z.value(L.G.Global)
	z.value(L.G.Registry)
	z.thread(L)
	for len(z.todo) > 0 && z.total <= z.stop {
		v := z.todo[len(z.todo)-1]
		z.todo = z.todo[:len(z.todo)-1]
		z.expand(v)
	}
	return z.total, len(z.tables)
}

// Approximate sizes of gopher-lua's values.
const (
	slotSize     = 16  // an LValue in a slice
	numberSize   = 16  // a boxed number: gopher-lua carves them from shared slabs, which the live ones keep
	entrySize    = 64  // a map entry: key, value, and the map's slack and growth
	tableSize    = 112 // an LTable
	functionSize = 80  // an LFunction
	upvalueSize  = 48
	userdataSize = 48
	threadSize   = 64 << 10 // an LState: its registry and call stack
)

type sizer struct {
	tables map[*glua.LTable]struct{} // the tables seen, by far the most numerous
	others map[glua.LValue]struct{}  // the functions, userdata and threads seen
	todo   []glua.LValue
	total  int64
	stop   int64
}

// value counts a value held in a slot and queues what it refers to.
func (z *sizer) value(v glua.LValue) {
	switch x := v.(type) {
	case glua.LString:
		z.total += int64(len(x)+15)&^15 + 16 // the bytes in their size class, and the boxed header
	case glua.LNumber:
		z.total += numberSize
	case *glua.LTable:
		if _, ok := z.tables[x]; !ok {
			z.tables[x] = struct{}{}
			z.todo = append(z.todo, x)
		}
	case *glua.LFunction, *glua.LUserData, *glua.LState:
		if _, ok := z.others[x]; !ok {
			z.others[x] = struct{}{}
			z.todo = append(z.todo, x)
		}
	}
}

func (z *sizer) expand(v glua.LValue) {
	switch x := v.(type) {
	case *glua.LTable:
		z.table(x)
	case *glua.LFunction:
		z.total += functionSize
		if x.Env != nil {
			z.value(x.Env)
		}
		for _, uv := range x.Upvalues {
			z.total += upvalueSize
			if uv != nil {
				z.value(uv.Value())
			}
		}
	case *glua.LUserData:
		z.total += userdataSize
		if x.Env != nil {
			z.value(x.Env)
		}
		z.value(x.Metatable)
	case *glua.LState:
		z.total += threadSize
		z.thread(x)
	}
}

// tableLayout locates the parts of an LTable, which gopher-lua does not export: walking a table
// through ForEach boxes every array index and allocates a closure per table, which made a walk of a
// state of a million tables take a second. The offsets are checked against the fields' names and
// types when the package loads; with any difference the walk uses ForEach.
var tableLayout = func() (l struct {
	ok                   bool
	array, dict, strdict uintptr
}) {
	t := reflect.TypeFor[glua.LTable]()
	field := func(name string, want reflect.Type) (uintptr, bool) {
		f, ok := t.FieldByName(name)
		return f.Offset, ok && f.Type == want
	}
	var ok1, ok2, ok3 bool
	l.array, ok1 = field("array", reflect.TypeFor[[]glua.LValue]())
	l.dict, ok2 = field("dict", reflect.TypeFor[map[glua.LValue]glua.LValue]())
	l.strdict, ok3 = field("strdict", reflect.TypeFor[map[string]glua.LValue]())
	l.ok = ok1 && ok2 && ok3
	return l
}()

func (z *sizer) table(tb *glua.LTable) {
	z.total += tableSize
	z.value(tb.Metatable)
	if !tableLayout.ok {
		tb.ForEach(func(k, v glua.LValue) {
			z.total += entrySize
			z.value(k)
			z.value(v)
		})
		return
	}
	p := unsafe.Pointer(tb)
	array := *(*[]glua.LValue)(unsafe.Add(p, tableLayout.array))
	z.total += int64(cap(array)) * slotSize
	for _, v := range array {
		z.value(v)
	}
	dict := *(*map[glua.LValue]glua.LValue)(unsafe.Add(p, tableLayout.dict))
	for k, v := range dict {
		z.total += entrySize
		z.value(k)
		z.value(v)
	}
	strdict := *(*map[string]glua.LValue)(unsafe.Add(p, tableLayout.strdict))
	for k, v := range strdict {
		z.total += entrySize + int64(len(k)+15)&^15
		z.value(v)
	}
}

// thread counts the locals of every running call of a Lua thread and the values on its stack.
func (z *sizer) thread(L *glua.LState) {
	for i := 1; i <= L.GetTop(); i++ {
		z.value(L.Get(i))
	}
	for level := 0; ; level++ {
		dbg, ok := L.GetStack(level)
		if !ok {
			return
		}
		for n := 1; ; n++ {
			name, v := L.GetLocal(dbg, n)
			if name == "" {
				break
			}
			z.value(v)
		}
	}
}

// meterCoroutines makes coroutines run under the state's meter. gopher-lua gives a new coroutine a
// context of its own derived from its parent's, whose Done would not count instructions, so a
// policy could grow past its limit inside a coroutine unseen. coroutine.create is wrapped to give
// the new thread the meter itself, and coroutine.wrap is rebuilt on it.
func meterCoroutines(L *glua.LState, m *meter) error {
	co, ok := L.GetGlobal("coroutine").(*glua.LTable)
	if !ok {
		return nil
	}
	create, ok := co.RawGetString("create").(*glua.LFunction)
	if !ok || !create.IsG {
		return nil
	}
	orig := create.GFunction
	co.RawSetString("create", L.NewFunction(func(L *glua.LState) int {
		n := orig(L)
		if th, ok := L.Get(-1).(*glua.LState); ok && n == 1 {
			th.SetContext(m)
		}
		return n
	}))
	return L.DoString(`do
		local create, resume = coroutine.create, coroutine.resume
		local function pass(ok, ...)
			if not ok then error((...), 0) end
			return ...
		end
		coroutine.wrap = function(f)
			local co = create(f)
			return function(...) return pass(resume(co, ...)) end
		end
	end`)
}
