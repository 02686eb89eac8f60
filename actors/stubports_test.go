package actors

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"
	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// Stubs of the ports (ports.go) for the unit tests of the hook, session, recorder and local logger
// actors: each records what the actor asked of it, on a slice (read after the fact) and a channel
// (waited on with a timeout), so a test drives one actor kind without a System, a disk or HTTP.

// stubTimeout bounds every wait for an actor's call or message.
const stubTimeout = 10 * time.Second

// stubLogger discards the actors' log lines.
func stubLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// stubWait returns the next value on ch, failing the test after stubTimeout.
func stubWait[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(stubTimeout):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// stubEngine is a bare hollywood engine for loops and stub processes: no System runs in it.
func stubEngine(t *testing.T) *actor.Engine {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// stubStartLoop spawns recv on a loop, as the System does (spawnLoop), and stops it when the test
// ends.
func stubStartLoop(t *testing.T, e *actor.Engine, kind, id string, recv loopReceiver) *loop {
	t.Helper()
	l, err := spawnLoop(e, kind, id, recv, stubLogger(), &atomic.Uint64{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stubStopLoop(t, l) })
	return l
}

// stubStopLoop stops a loop and waits until it has handled Stopped.
func stubStopLoop(t *testing.T, l *loop) {
	t.Helper()
	l.requestStop()
	select {
	case <-l.Done():
	case <-time.After(stubTimeout):
		t.Errorf("loop %s did not stop", l.pid.ID)
	}
}

// stubPost is what the policy's send would have POSTed: kumo.stub_send(url, body).
type stubPost struct{ URL, Body string }

// stubTransport stands for the policy's HTTP client: kumo.stub_send(url, body) records the post and
// returns the next scripted reply ("ok" once the script is exhausted); kumo.stub_event(name)
// records an event (a constructor or close call).
type stubTransport struct {
	mu      sync.Mutex
	posts   []stubPost
	events  []string
	replies []string
}

// script queues the replies of the next stub_send calls.
func (s *stubTransport) script(replies ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies = append(s.replies, replies...)
}

func (s *stubTransport) extension(L *glua.LState, kumo *glua.LTable) {
	kumo.RawSetString("stub_send", L.NewFunction(func(L *glua.LState) int {
		url, body := L.CheckString(1), L.CheckString(2)
		s.mu.Lock()
		s.posts = append(s.posts, stubPost{URL: url, Body: body})
		reply := "ok"
		if len(s.replies) > 0 {
			reply, s.replies = s.replies[0], s.replies[1:]
		}
		s.mu.Unlock()
		L.Push(glua.LString(reply))
		return 1
	}))
	kumo.RawSetString("stub_event", L.NewFunction(func(L *glua.LState) int {
		name := L.CheckString(1)
		s.mu.Lock()
		s.events = append(s.events, name)
		s.mu.Unlock()
		return 0
	}))
}

func (s *stubTransport) Posts() []stubPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubPost(nil), s.posts...)
}

func (s *stubTransport) Events() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.events...)
}

// stubPolicy loads a policy from src whose kumo module has the stub transport's functions.
func stubPolicy(t *testing.T, src string) (*lua.Policy, *stubTransport) {
	t.Helper()
	tr := &stubTransport{}
	opts := lua.Options{Logger: stubLogger(), Extensions: []func(*glua.LState, *glua.LTable){tr.extension}}
	opts.HTTP.ParseDuration = message.ParseDuration
	p, err := lua.LoadSource("unit.lua", []byte(src), opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, tr
}

// stubPolicies is the Policies port: the policy it holds (swap it to simulate a reload).
type stubPolicies struct{ p atomic.Pointer[lua.Policy] }

func stubPoliciesOf(p *lua.Policy) *stubPolicies {
	s := &stubPolicies{}
	s.p.Store(p)
	return s
}

func (s *stubPolicies) Current() *lua.Policy { return s.p.Load() }

// stubStates is the States port over one policy: every Get builds a state, every Put closes it.
type stubStates struct {
	p        *lua.Policy
	mu       sync.Mutex
	got, put int
}

func (s *stubStates) Get() (*lua.State, error) {
	st, err := s.p.NewState()
	if err == nil {
		s.mu.Lock()
		s.got++
		s.mu.Unlock()
	}
	return st, err
}

func (s *stubStates) Put(st *lua.State) {
	s.mu.Lock()
	s.put++
	s.mu.Unlock()
	st.Close()
}

func (s *stubStates) counts() (got, put int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got, s.put
}

// stubGroup is one PutGroup call: its entries, and its done function for a held call.
type stubGroup struct {
	Entries []*persistence.Entry
	done    func(error)
}

// stubGroupWriter is the GroupWriter port. Each call is recorded and sent on calls; then done is
// called at once with err, or, when hold is set, left for the test to call (finish) from its own
// goroutine, as a spool does once the group is durable.
type stubGroupWriter struct {
	hold  bool
	err   error
	calls chan *stubGroup

	mu     sync.Mutex
	groups []*stubGroup
	stored map[message.SpoolID]bool // the entries of the groups done without an error
}

func newStubGroupWriter() *stubGroupWriter {
	return &stubGroupWriter{calls: make(chan *stubGroup, 16), stored: map[message.SpoolID]bool{}}
}

// has says whether a group done without an error held id (the spool's Has).
func (w *stubGroupWriter) has(id message.SpoolID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stored[id]
}

func (w *stubGroupWriter) PutGroup(es []*persistence.Entry, done func(error)) {
	g := &stubGroup{Entries: append([]*persistence.Entry(nil), es...), done: done}
	w.mu.Lock()
	w.groups = append(w.groups, g)
	hold, err := w.hold, w.err
	if !hold && err == nil {
		for _, e := range es {
			w.stored[e.ID] = true
		}
	}
	w.mu.Unlock()
	w.calls <- g
	if !hold {
		done(err)
	}
}

// finish completes a held group.
func (g *stubGroup) finish(err error) { g.done(err) }

func (w *stubGroupWriter) Groups() []*stubGroup {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]*stubGroup(nil), w.groups...)
}

// stubRouteCall is one Route, Recover or Release call.
type stubRouteCall struct {
	Queue string
	N     int
}

// stubRouter is the Router port: each queue's PID is "local/queue/<name>" (never spawned: whatever is
// sent to it goes through a stub Sender), and Route fails for the queues in fail.
type stubRouter struct {
	mu        sync.Mutex
	fail      map[string]error
	routes    []stubRouteCall
	recovers  []stubRouteCall
	releases  []stubRouteCall
	queues    []QueueRef
	subscribe []*actor.PID
}

// pid is the address the router gives queue name.
func (r *stubRouter) pid(name string) *actor.PID { return actor.NewPID("local", "queue/"+name) }

func (r *stubRouter) Route(name string, n int) (*actor.PID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.fail[name]; err != nil {
		return nil, err
	}
	r.routes = append(r.routes, stubRouteCall{name, n})
	return r.pid(name), nil
}

func (r *stubRouter) Recover(name string, n int) (*actor.PID, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recovers = append(r.recovers, stubRouteCall{name, n})
	return r.pid(name), nil
}

func (r *stubRouter) Release(name string, _ *actor.PID, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.releases = append(r.releases, stubRouteCall{name, n})
}

func (r *stubRouter) Queues() []QueueRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]QueueRef(nil), r.queues...)
}

func (r *stubRouter) Subscribe(pid *actor.PID) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.subscribe = append(r.subscribe, pid)
}

func (r *stubRouter) Unsubscribe(*actor.PID) {}

func (r *stubRouter) calls() (routes, releases []stubRouteCall) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]stubRouteCall(nil), r.routes...), append([]stubRouteCall(nil), r.releases...)
}

// stubSent is one Sender call.
type stubSent struct {
	PID *actor.PID
	Msg any
}

// stubSender is the Sender port: it records each (pid, msg) and, when forward is set, delivers it
// through that engine as the System's sender does (so timers reach the actor that set them).
type stubSender struct {
	forward *actor.Engine
	ch      chan stubSent

	mu   sync.Mutex
	sent []stubSent
}

func newStubSender(forward *actor.Engine) *stubSender {
	return &stubSender{forward: forward, ch: make(chan stubSent, 256)}
}

func (s *stubSender) Send(pid *actor.PID, msg any) {
	s.mu.Lock()
	s.sent = append(s.sent, stubSent{PID: pid, Msg: msg})
	s.mu.Unlock()
	s.ch <- stubSent{PID: pid, Msg: msg}
	if s.forward != nil {
		s.forward.Send(pid, msg)
	}
}

func (s *stubSender) Sent() []stubSent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubSent(nil), s.sent...)
}

// stubLoader is the Loader port over the entries it holds; it records every id asked for.
type stubLoader struct {
	mu      sync.Mutex
	entries map[message.SpoolID]*persistence.Entry
	loads   []message.SpoolID
}

func newStubLoader(es ...*persistence.Entry) *stubLoader {
	l := &stubLoader{entries: map[message.SpoolID]*persistence.Entry{}}
	for _, e := range es {
		l.entries[e.ID] = e
	}
	return l
}

func (l *stubLoader) Load(id message.SpoolID) (*persistence.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.loads = append(l.loads, id)
	e := l.entries[id]
	if e == nil {
		return nil, persistence.ErrNotFound
	}
	c := *e
	c.Meta, c.Body = bytes.Clone(e.Meta), bytes.Clone(e.Body)
	return &c, nil
}

func (l *stubLoader) Loads() []message.SpoolID {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]message.SpoolID(nil), l.loads...)
}

// stubUpdate is one QueueStore.Update call.
type stubUpdate struct {
	ID       message.SpoolID
	Attempts uint16
	Due      time.Time
}

// stubQueueStore is the QueueStore port: it records Put, Update and Delete; Put's done gets putErr.
type stubQueueStore struct {
	putErr error

	mu      sync.Mutex
	puts    []*persistence.Entry
	updates []stubUpdate
	deletes []message.SpoolID
}

func (s *stubQueueStore) Put(e *persistence.Entry, done func(error)) {
	s.mu.Lock()
	s.puts = append(s.puts, e)
	err := s.putErr
	s.mu.Unlock()
	done(err)
}

func (s *stubQueueStore) Update(id message.SpoolID, attempts uint16, due time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, stubUpdate{id, attempts, due})
}

func (s *stubQueueStore) Delete(id message.SpoolID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deletes = append(s.deletes, id)
}

func (s *stubQueueStore) Deletes() []message.SpoolID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]message.SpoolID(nil), s.deletes...)
}

// stubEmit is one Emitter.Emit call.
type stubEmit struct {
	Recs  []Record
	Block bool
}

// stubEmitter is the Emitter port: each Emit is recorded and sent on ch.
type stubEmitter struct {
	ch chan stubEmit

	mu    sync.Mutex
	emits []stubEmit
}

func newStubEmitter() *stubEmitter { return &stubEmitter{ch: make(chan stubEmit, 64)} }

func (s *stubEmitter) Emit(recs []Record, block bool) {
	e := stubEmit{Recs: append([]Record(nil), recs...), Block: block}
	s.mu.Lock()
	s.emits = append(s.emits, e)
	s.mu.Unlock()
	s.ch <- e
}

func (s *stubEmitter) Emits() []stubEmit {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]stubEmit(nil), s.emits...)
}

// stubInbox is a hollywood process standing for an actor the one under test answers through its
// loop (a session's queue): every message it is sent goes to ch, with its sender.
type stubInbox struct {
	pid *actor.PID
	ch  chan actor.Envelope
}

func stubSpawnInbox(e *actor.Engine, kind, id string) *stubInbox {
	in := &stubInbox{pid: actor.NewPID(e.Address(), kind+"/"+id), ch: make(chan actor.Envelope, 64)}
	e.SpawnProc(in)
	return in
}

func (in *stubInbox) Start()                  {}
func (in *stubInbox) PID() *actor.PID         { return in.pid }
func (in *stubInbox) Invoke([]actor.Envelope) {}
func (in *stubInbox) Shutdown()               {}
func (in *stubInbox) Send(_ *actor.PID, msg any, sender *actor.PID) {
	in.ch <- actor.Envelope{Msg: msg, Sender: sender}
}

// stubMessage builds a queued message for queue (meta "queue", tenant acme) with body, and its
// spool entry.
func stubMessage(t *testing.T, ids *message.IDGen, now time.Time, queue, body string) (*message.Message, *persistence.Entry) {
	t.Helper()
	from, _ := message.ParseAddress("sender@example.com")
	to, _ := message.ParseAddress("rcpt@example.net")
	m := &message.Message{ID: ids.New(now), Sender: from, Recipients: []message.Address{to},
		Meta: message.Meta{}, Body: []byte(body)}
	m.Meta.SetString("queue", queue)
	m.Meta.SetString("tenant", "acme")
	meta, err := persistence.EncodeMeta(m)
	if err != nil {
		t.Fatal(err)
	}
	return m, &persistence.Entry{ID: m.ID, Queue: queue, Meta: meta, Body: m.Body}
}
