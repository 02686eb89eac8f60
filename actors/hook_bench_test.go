package actors

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/clock"
	"github.com/hookd/hookd/message"
)

// BenchmarkHookRecord is a hook actor deciding a burst of records with the policy `hookd bench`
// runs, writing what it keeps to a spool that is durable at once: the hook's share of a record's
// cost, per record, without the engine around it.
func BenchmarkHookRecord(b *testing.B) {
	text, err := os.ReadFile(filepath.Join("..", "internal", "bench", "policies", "batch.lua"))
	if err != nil {
		b.Fatal(err)
	}
	src := strings.NewReplacer("{{WEBHOOK_URL}}", "http://127.0.0.1:9/unused", "{{CONNECTIONS}}", "32",
		"{{BREAKER_FAILURES}}", "5", "{{BATCH_SIZE}}", "100", "{{MIN_BATCH_SIZE}}", "1",
		"{{MAX_BATCH_LATENCY}}", "100ms").Replace(string(text))
	t := &testing.T{}
	p, _ := stubPolicy(t, src)
	if t.Failed() {
		b.Fatal("the bench policy does not load")
	}
	cfg := p.Config().Hooks[0]
	spool := newStubGroupWriter()
	spool.calls = make(chan *stubGroup, 1<<20)
	const burst = 32
	intake, inserts := NewCredits(1<<30), NewCredits(1<<30)
	h := newHookActor(cfg, &hookCounts{}, HookPorts{Policies: stubPoliciesOf(p), Spool: spool, Router: &stubRouter{},
		Send: discardSender{}, Intake: intake, Inserts: inserts, IDs: message.NewIDGen([6]byte{9, 9, 9, 9, 9, 9}),
		Clock: clock.NewFake(t0), Metrics: &Metrics{}, Log: stubLogger(), Ctx: context.Background()})
	h.Receive(nil, []actor.Envelope{{Msg: actor.Started{}}})
	defer h.Receive(nil, []actor.Envelope{{Msg: actor.Stopped{}}})
	recs := make([]Record, burst)
	for i := range recs {
		r := record(message.Delivery, i+1)
		r.Meta = map[string]json.RawMessage{"tenant": json.RawMessage(`"acme"`), "campaign": json.RawMessage(`"digest"`)}
		r.Headers = map[string]json.RawMessage{"Subject": json.RawMessage(`"Your weekly digest"`),
			"X-Bench-Seq": json.RawMessage(`"12345"`)}
		r.Queue = "digest:acme@example.net"
		recs[i] = ExternalRecord(*r)
	}
	envs := make([]actor.Envelope, burst)
	reply := actor.NewPID("local", "stub/reply")
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for i := range envs {
			envs[i] = actor.Envelope{Msg: LogBatch{Records: recs[i : i+1], Corr: uint64(i + 1), Reply: reply}}
		}
		intake.Force(burst)
		h.Receive(nil, envs)
		inserts.Release(burst)
		n += burst
		spool.mu.Lock()
		spool.groups, spool.stored = spool.groups[:0], map[message.SpoolID]bool{}
		spool.mu.Unlock()
		for len(spool.calls) > 0 {
			<-spool.calls
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
	b.ReportMetric(0, "ns/op")
}

// discardSender drops what it is given.
type discardSender struct{}

func (discardSender) Send(*actor.PID, any) {}
