package lua

import (
	"encoding/binary"
	"math"
	"testing"

	glua "github.com/yuin/gopher-lua"
)

// formatBoth runs the fast path and gopher-lua's own string.format on the same arguments.
func formatBoth(t testing.TB, format glua.LValue, args ...glua.LValue) (fast string, handled bool, want string) {
	t.Helper()
	L := glua.NewState()
	defer L.Close()
	orig := L.GetGlobal("string").(*glua.LTable).RawGetString("format").(*glua.LFunction)
	push := func() {
		L.SetTop(0)
		L.Push(format)
		for _, a := range args {
			L.Push(a)
		}
	}
	push()
	fast, handled = fastFormat(L)
	push()
	if err := L.CallByParam(glua.P{Fn: orig, NRet: 1, Protect: true}, append([]glua.LValue{format}, args...)...); err != nil {
		return fast, handled, "error: " + err.Error()
	}
	return fast, handled, L.Get(-1).String()
}

func TestFastFormat(t *testing.T) {
	n, s := func(f float64) glua.LValue { return glua.LNumber(f) }, func(v string) glua.LValue { return glua.LString(v) }
	cases := []struct {
		format  string
		args    []glua.LValue
		handled bool
	}{
		{"%d %s", []glua.LValue{n(200), s("OK")}, true},
		{"%d %s", []glua.LValue{n(-3.9), s("")}, true},
		{"100%% %s!", []glua.LValue{s("done")}, true},
		{"no verbs", nil, true},
		{"%d", []glua.LValue{n(math.Inf(1))}, true},
		{"%s", []glua.LValue{s("é\xff")}, true},
		{"%5d", []glua.LValue{n(1)}, false},
		{"%s", []glua.LValue{n(1)}, false},
		{"%d", []glua.LValue{s("12")}, false},
		{"%d %d", []glua.LValue{n(1)}, false},
		{"%d", []glua.LValue{n(1), n(2)}, true}, // gopher-lua drops the extra argument too
		{"%%d", []glua.LValue{n(1)}, false},     // fmt would report the argument it was given
		{"%", nil, false},
		{"%x", []glua.LValue{n(255)}, false},
	}
	for _, c := range cases {
		got, handled, want := formatBoth(t, s(c.format), c.args...)
		if handled != c.handled {
			t.Errorf("%q %v: handled %v, want %v", c.format, c.args, handled, c.handled)
		}
		if handled && got != want {
			t.Errorf("%q %v: %q, gopher-lua gives %q", c.format, c.args, got, want)
		}
	}
	// Installed: policies reach it both ways.
	p := load(t, `a = string.format('%d %s', 404, 'Not Found'); b = ('%s=%d'):format('x', 7); c = string.format('%5.1f', 2)`)
	st := newState(t, p)
	for k, want := range map[string]string{"a": "404 Not Found", "b": "x=7", "c": "  2.0"} {
		if got := st.L.GetGlobal(k).String(); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// FuzzFastFormat: whatever the fast path formats, it formats exactly as gopher-lua does.
func FuzzFastFormat(f *testing.F) {
	f.Add("%d %s", []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 200, 1, 'O', 'K'})
	f.Add("%%%s%d%%", []byte{1, 'x', 0, 0xc0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, format string, spec []byte) {
		var args []glua.LValue
		for len(spec) > 0 && len(args) < 6 {
			kind := spec[0]
			spec = spec[1:]
			switch kind % 4 {
			case 0: // a number from 8 bytes
				var b [8]byte
				spec = spec[copy(b[:], spec):]
				args = append(args, glua.LNumber(math.Float64frombits(binary.BigEndian.Uint64(b[:]))))
			case 1: // a short string
				n := min(int(kind/4), len(spec))
				args = append(args, glua.LString(spec[:n]))
				spec = spec[n:]
			case 2:
				args = append(args, glua.LNil)
			default:
				args = append(args, glua.LBool(kind&4 != 0))
			}
		}
		got, handled, want := formatBoth(t, glua.LString(format), args...)
		if handled && got != want {
			t.Fatalf("%q %v: fast path %q, gopher-lua %q", format, args, got, want)
		}
	})
}

// BenchmarkStringFormat is the call a webhook policy makes on every response, through the fast
// path and through gopher-lua's own string.format.
func BenchmarkStringFormat(b *testing.B) {
	L := glua.NewState()
	defer L.Close()
	orig := L.GetGlobal("string").(*glua.LTable).RawGetString("format")
	installStringFormat(L)
	fast := L.GetGlobal("string").(*glua.LTable).RawGetString("format")
	args := []glua.LValue{glua.LString("%d %s"), glua.LNumber(200), glua.LString("OK")}
	for name, fn := range map[string]glua.LValue{"fast": fast, "gopher-lua": orig} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := L.CallByParam(glua.P{Fn: fn, NRet: 1, Protect: true}, args...); err != nil {
					b.Fatal(err)
				}
				L.Pop(1)
			}
		})
	}
}
