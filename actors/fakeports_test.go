package actors

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anthdm/hollywood/actor"

	"github.com/hookd/hookd/breaker"
	"github.com/hookd/hookd/message"
	"github.com/hookd/hookd/persistence"
)

// Fakes of the ports (ports.go) the queue, destination and router actor kinds use, so that each
// kind is driven alone: a hollywood engine runs the actor under test and the fakes' recording
// actors, and nothing else runs (no hookd System, no spool on disk, no HTTP, no Lua).

// fakeWait bounds every wait for a message to reach a recording actor.
const fakeWait = 5 * time.Second

// fakeT0 is the time every fake clock starts at.
var fakeT0 = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// fakeLog discards what the actors under test log.
var fakeLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeIDs numbers the fake actors, so that their IDs never collide within an engine.
var fakeIDs atomic.Uint64

// fakeEngine returns a hollywood actor engine (not a hookd engine) for one test.
func fakeEngine(t *testing.T) *actor.Engine {
	t.Helper()
	e, err := actor.NewEngine(actor.NewEngineConfig())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// fakeStop poisons pid and waits for it to stop.
func fakeStop(e *actor.Engine, pid *actor.PID) {
	select {
	case <-e.Poison(pid).Done():
	case <-time.After(fakeWait):
	}
}

// fakeEnvelope is one message a fake actor received, with its sender.
type fakeEnvelope struct {
	Msg    any
	Sender *actor.PID
}

// fakePing asks a fake actor to answer (a Request), without being recorded: once it is answered,
// every message sent to the actor before it has been recorded.
type fakePing struct{}

// fakeActor is a hollywood actor that records every message it receives (but its own lifecycle
// messages and fakePing) and, when answer is set, lets the test answer from inside the actor.
type fakeActor struct {
	e      *actor.Engine
	pid    *actor.PID
	got    chan fakeEnvelope
	answer func(c *actor.Context)
}

func (f *fakeActor) Receive(c *actor.Context) {
	switch c.Message().(type) {
	case actor.Initialized, actor.Started, actor.Stopped:
		return
	case fakePing:
		c.Respond(true)
		return
	}
	if f.answer != nil {
		f.answer(c)
	}
	f.got <- fakeEnvelope{Msg: c.Message(), Sender: c.Sender()}
}

// fakeSpawn starts a recording actor of kind; it is stopped when the test ends.
func fakeSpawn(t *testing.T, e *actor.Engine, kind string, answer func(c *actor.Context)) *fakeActor {
	t.Helper()
	f := fakeSpawnQuiet(e, kind, answer)
	t.Cleanup(func() { fakeStop(e, f.pid) })
	return f
}

// fakeSpawnQuiet is fakeSpawn for callers outside the test goroutine, which stop the actor
// themselves.
func fakeSpawnQuiet(e *actor.Engine, kind string, answer func(c *actor.Context)) *fakeActor {
	f := &fakeActor{e: e, got: make(chan fakeEnvelope, 4096), answer: answer}
	f.pid = e.Spawn(func() actor.Receiver { return f }, kind, actor.WithID(fmt.Sprint(fakeIDs.Add(1))))
	return f
}

// next returns the next message the actor received, failing the test after fakeWait.
func (f *fakeActor) next(t *testing.T, what string) fakeEnvelope {
	t.Helper()
	select {
	case env := <-f.got:
		return env
	case <-time.After(fakeWait):
		t.Fatalf("%s: %s never arrived", f.pid, what)
		return fakeEnvelope{}
	}
}

// await skips messages until one satisfies match, failing the test after fakeWait.
func (f *fakeActor) await(t *testing.T, what string, match func(fakeEnvelope) bool) fakeEnvelope {
	t.Helper()
	deadline := time.After(fakeWait)
	for {
		select {
		case env := <-f.got:
			if match(env) {
				return env
			}
		case <-deadline:
			t.Fatalf("%s: %s never arrived", f.pid, what)
			return fakeEnvelope{}
		}
	}
}

// quiet fails the test if the actor has received anything not yet read. Messages still on their
// way are flushed first: the ping is answered after everything sent to the actor before it.
func (f *fakeActor) quiet(t *testing.T, what string) {
	t.Helper()
	if _, err := f.e.Request(f.pid, fakePing{}, fakeWait).Result(); err != nil {
		t.Fatalf("%s: ping: %v", f.pid, err)
	}
	select {
	case env := <-f.got:
		t.Fatalf("%s: %s, yet it received %T %+v", f.pid, what, env.Msg, env.Msg)
	default:
	}
}

// fakeExpect reads the actor's next message and fails the test unless it is a T.
func fakeExpect[T any](t *testing.T, f *fakeActor, what string) (T, *actor.PID) {
	t.Helper()
	env := f.next(t, what)
	m, ok := env.Msg.(T)
	if !ok {
		var zero T
		t.Fatalf("%s: want %s (%T), got %T %+v", f.pid, what, zero, env.Msg, env.Msg)
	}
	return m, env.Sender
}

// fakeSent is one message given to a fakeSender.
type fakeSent struct {
	PID *actor.PID
	Msg any
}

// fakeSender is the Sender port: it records every (pid, msg) and, with an engine, delivers it.
type fakeSender struct {
	e    *actor.Engine // nil: record only
	mu   sync.Mutex
	sent []fakeSent
}

func (s *fakeSender) Send(pid *actor.PID, msg any) {
	s.mu.Lock()
	s.sent = append(s.sent, fakeSent{PID: pid, Msg: msg})
	s.mu.Unlock()
	if s.e != nil && pid != nil {
		s.e.Send(pid, msg)
	}
}

// all returns what was sent so far.
func (s *fakeSender) all() []fakeSent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeSent(nil), s.sent...)
}

// fakeSentOf returns the messages of type T sent so far, in order, with their targets.
func fakeSentOf[T any](s *fakeSender) ([]T, []*actor.PID) {
	var msgs []T
	var pids []*actor.PID
	for _, x := range s.all() {
		if m, ok := x.Msg.(T); ok {
			msgs, pids = append(msgs, m), append(pids, x.PID)
		}
	}
	return msgs, pids
}

// fakeStoreOp is one request a fakeStore received.
type fakeStoreOp struct {
	Op       string // "put", "update" or "delete"
	ID       message.SpoolID
	Attempts uint16
	Due      time.Time
	Entry    *persistence.Entry // for a put
}

// fakeStore is the QueueStore port: it records Put, Update and Delete and stores nothing. A Put is
// acknowledged at once, successfully.
type fakeStore struct {
	mu  sync.Mutex
	ops []fakeStoreOp
}

func (s *fakeStore) Put(e *persistence.Entry, done func(error)) {
	s.add(fakeStoreOp{Op: "put", ID: e.ID, Attempts: e.Attempts, Due: e.Due, Entry: e})
	if done != nil {
		done(nil)
	}
}

func (s *fakeStore) Update(id message.SpoolID, attempts uint16, due time.Time) {
	s.add(fakeStoreOp{Op: "update", ID: id, Attempts: attempts, Due: due})
}

func (s *fakeStore) Delete(id message.SpoolID) { s.add(fakeStoreOp{Op: "delete", ID: id}) }

func (s *fakeStore) add(op fakeStoreOp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ops = append(s.ops, op)
}

// all returns the requests so far.
func (s *fakeStore) all() []fakeStoreOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]fakeStoreOp(nil), s.ops...)
}

// fakeHome is the QueueHome port: it counts arrivals and reap requests; Reap answers reap.
type fakeHome struct {
	mu      sync.Mutex
	arrived int
	reaps   int
	reap    bool
	fenced  int
}

func (h *fakeHome) Stopped() {}

func (h *fakeHome) Fenced() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fenced++
}

func (h *fakeHome) Arrived(n int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.arrived += n
}

func (h *fakeHome) Reap() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reaps++
	return h.reap
}

func (h *fakeHome) counts() (arrived, reaps int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arrived, h.reaps
}

// fakeResolvers is the Resolvers port: every Pick returns the same runner, an actor of the test's.
type fakeResolvers struct {
	pid   *actor.PID
	picks atomic.Int64
}

func (r *fakeResolvers) Pick() *actor.PID {
	r.picks.Add(1)
	return r.pid
}

// fakeSession is one session a fakeSessions started: its spec and the recording actor standing in
// for the session loop.
type fakeSession struct {
	Spec  SessionSpec
	Actor *fakeActor
}

// fakeSessions is the Sessions port: each Start spawns a recording actor and reports it on started.
type fakeSessions struct {
	e       *actor.Engine
	started chan fakeSession
	mu      sync.Mutex
	all     []fakeSession
	err     error // when set, Start fails with it
}

// fakeNewSessions returns a Sessions port whose session actors are stopped when the test ends.
// Make it before the actor that uses it, so that the actor is stopped first.
func fakeNewSessions(t *testing.T, e *actor.Engine) *fakeSessions {
	s := &fakeSessions{e: e, started: make(chan fakeSession, 256)}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, fs := range s.all {
			fakeStop(e, fs.Actor.pid)
		}
	})
	return s
}

func (s *fakeSessions) Start(spec SessionSpec) (*actor.PID, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	fs := fakeSession{Spec: spec, Actor: fakeSpawnQuiet(s.e, "fake-session", nil)}
	s.all = append(s.all, fs)
	s.started <- fs
	return fs.Actor.pid, nil
}

// count is how many sessions were started.
func (s *fakeSessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.all)
}

// next returns the next session started, failing the test after fakeWait.
func (s *fakeSessions) next(t *testing.T) fakeSession {
	t.Helper()
	select {
	case fs := <-s.started:
		return fs
	case <-time.After(fakeWait):
		t.Fatal("no session was started")
		return fakeSession{}
	}
}

// fakeDestCall is one Destinations.Destination call.
type fakeDestCall struct {
	Key string
	Cfg breaker.Config
}

// fakeDestinations is the Destinations port: every destination is the same actor of the test's.
type fakeDestinations struct {
	pid   *actor.PID
	mu    sync.Mutex
	calls []fakeDestCall
}

func (d *fakeDestinations) Destination(key string, cfg breaker.Config) *actor.PID {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, fakeDestCall{Key: key, Cfg: cfg})
	return d.pid
}

func (d *fakeDestinations) all() []fakeDestCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]fakeDestCall(nil), d.calls...)
}

// Compile-time checks: the fakes are the ports.
var (
	_ Sender       = (*fakeSender)(nil)
	_ QueueStore   = (*fakeStore)(nil)
	_ QueueHome    = (*fakeHome)(nil)
	_ Resolvers    = (*fakeResolvers)(nil)
	_ Sessions     = (*fakeSessions)(nil)
	_ Destinations = (*fakeDestinations)(nil)
)
