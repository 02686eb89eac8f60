package lua

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/message"
)

// benchPolicy loads the policy `hookd bench --batch` runs (a log hook in the style of KumoMTA's
// webhook example, with send and send_batch), posting to url, so these benchmarks measure the
// policy the end-to-end figures are measured with.
func benchPolicy(b *testing.B, url string) *Policy {
	text, err := os.ReadFile(filepath.Join("..", "internal", "bench", "policies", "batch.lua"))
	if err != nil {
		b.Fatal(err)
	}
	return load(b, strings.NewReplacer(
		"{{WEBHOOK_URL}}", url, "{{CONNECTIONS}}", "32", "{{BREAKER_FAILURES}}", "5",
		"{{BATCH_SIZE}}", "100", "{{MIN_BATCH_SIZE}}", "1", "{{MAX_BATCH_LATENCY}}", "100ms",
	).Replace(string(text)))
}

// BenchmarkHookDecision is the policy's should_enqueue_log_record for one new record: the lazy
// log_record view, a meta read and a meta write.
func BenchmarkHookDecision(b *testing.B) {
	s := newState(b, benchPolicy(b, "http://127.0.0.1:9/unused"))
	m := hookMessage(b, message.Delivery)
	meta := m.Msg.Meta.Clone()
	b.ReportAllocs()
	for b.Loop() {
		m.record, m.cache, m.Msg.Meta = nil, nil, meta.Clone() // as for a new message
		keep, err := s.ShouldEnqueue(m, "bench")
		if err != nil || !keep {
			b.Fatal(keep, err)
		}
	}
}

// BenchmarkHookDecisionBare is the bench policy's should_enqueue_log_record on bare gopher-lua: the
// same function (read from the policy file), with a context set as hookd's states have, called on
// a userdata whose get_meta and set_meta do nothing but hand back a fresh empty log_record table
// (its __index answering nil) or a tenant string, and keep the queue string. It is what the
// interpreter costs for this policy with the cheapest bindings there could be; BenchmarkHookDecision
// less this is what hookd's bindings (the lazy record, the meta's JSON, the call's deadline and
// meter) add.
func BenchmarkHookDecisionBare(b *testing.B) {
	L := glua.NewState()
	defer L.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	L.SetContext(ctx)
	if err := L.DoString(bareDecision(b)); err != nil {
		b.Fatal(err)
	}
	type bareMsg struct{ tenant, queue string }
	recordMT := L.NewTable()
	recordMT.RawSetString("__index", L.NewFunction(func(L *glua.LState) int { L.Push(glua.LNil); return 1 }))
	methods := L.NewTable()
	methods.RawSetString("get_meta", L.NewFunction(func(L *glua.LState) int {
		m := L.CheckUserData(1).Value.(*bareMsg)
		switch L.CheckString(2) {
		case "log_record":
			t := L.NewTable()
			t.Metatable = recordMT
			L.Push(t)
		case "tenant":
			L.Push(glua.LString(m.tenant))
		default:
			L.Push(glua.LNil)
		}
		return 1
	}))
	methods.RawSetString("set_meta", L.NewFunction(func(L *glua.LState) int {
		m := L.CheckUserData(1).Value.(*bareMsg)
		L.CheckString(2)
		m.queue = L.CheckString(3)
		return 0
	}))
	msgMT := L.NewTable()
	msgMT.RawSetString("__index", methods)
	fn := L.GetGlobal("should_enqueue")
	b.ReportAllocs()
	for b.Loop() {
		m := &bareMsg{tenant: "acme"}
		ud := L.NewUserData()
		ud.Value, ud.Metatable = m, msgMT
		if err := L.CallByParam(glua.P{Fn: fn, NRet: 1, Protect: true}, ud, glua.LString("bench")); err != nil {
			b.Fatal(err)
		}
		if L.Get(-1) != glua.LTrue || m.queue != "acme@bench.webhook" {
			b.Fatal("not kept", L.Get(-1), m.queue)
		}
		L.Pop(1)
	}
}

// bareDecision is the bench batch policy's should_enqueue_log_record handler, taken from the file
// and defined as the global should_enqueue.
func bareDecision(b *testing.B) string {
	text, err := os.ReadFile(filepath.Join("..", "internal", "bench", "policies", "batch.lua"))
	if err != nil {
		b.Fatal(err)
	}
	const open = "kumo.on('should_enqueue_log_record', "
	_, rest, ok := strings.Cut(string(text), open)
	fn, _, closed := strings.Cut(rest, "\nend)")
	if !ok || !closed {
		b.Fatal("no should_enqueue_log_record handler in the batch policy")
	}
	return "local HOOK = 'bench'\nshould_enqueue = " + fn + "\nend"
}

// BenchmarkSessionSend is one webhook POST of one record, and of a batch of 100, through the
// policy's sender, against the same POSTs made by plain net/http to the same loopback server:
// the difference is what the policy (Lua, kumo.http) costs on top of HTTP itself.
func BenchmarkSessionSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	s := newState(b, benchPolicy(b, srv.URL))
	c, err := s.Connect("make.bench.webhook", "webhook", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	m := hookMessage(b, message.Delivery)
	batch := make([]*Message, 100)
	for i := range batch {
		batch[i] = hookMessage(b, message.Delivery)
	}
	one := append(append([]byte{'['}, bytes.TrimSuffix(m.Msg.Body, []byte{'\n'})...), ']')
	var hundred []byte
	for i, bm := range batch {
		hundred = append(hundred, ",["[min(i, 1)])
		hundred = append(hundred, bytes.TrimSuffix(bm.Msg.Body, []byte{'\n'})...)
	}
	hundred = append(hundred, ']')
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	plain := func(b *testing.B, body []byte) {
		for b.Loop() {
			resp, err := client.Post(srv.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatal(resp.Status)
			}
		}
	}
	b.Run("records=1/net-http", func(b *testing.B) { plain(b, one) })
	b.Run("records=1/policy", func(b *testing.B) {
		for b.Loop() {
			if out := c.Send(m); out.Kind != Returned {
				b.Fatal(out)
			}
		}
	})
	b.Run("records=100/net-http", func(b *testing.B) {
		plain(b, hundred)
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/record")
	})
	b.Run("records=100/policy", func(b *testing.B) {
		for b.Loop() {
			if out := c.SendBatch(batch); out.Kind != Returned {
				b.Fatal(out)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100, "ns/record")
	})
}

// BenchmarkHookDecisionGoroutine is BenchmarkHookDecision on the goroutine that owns the state, and
// on a new goroutine per call, which is how hollywood runs each burst of an ordinary actor's inbox:
// the new goroutine starts with a small stack that the Lua call must grow again every time. The
// difference is why every Lua state in hookd lives on one long-lived goroutine (a loop).
func BenchmarkHookDecisionGoroutine(b *testing.B) {
	s := newState(b, benchPolicy(b, "http://127.0.0.1:9/unused"))
	m := hookMessage(b, message.Delivery)
	meta := m.Msg.Meta.Clone()
	decide := func(b *testing.B) {
		m.record, m.cache, m.Msg.Meta = nil, nil, meta.Clone()
		if keep, err := s.ShouldEnqueue(m, "bench"); err != nil || !keep {
			b.Fatal(keep, err)
		}
	}
	b.Run("owner", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decide(b)
		}
	})
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		done := make(chan struct{})
		for b.Loop() {
			go func() {
				decide(b)
				done <- struct{}{}
			}()
			<-done
		}
	})
}
