package lua

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	glua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/parse"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua/extras"
	"github.com/hookd/hookd/lua/luahttp"
)

// Options tune how a policy is loaded and what its Lua states offer.
type Options struct {
	// Logger receives kumo.log_* output and warnings about ignored SMTP-only calls. Default slog.Default().
	Logger *slog.Logger
	// HTTP configures kumo.http.
	HTTP luahttp.Options
	// Extensions add Go functions to the kumo module of every state (embedders' kumo.* extensions).
	Extensions []func(L *glua.LState, kumo *glua.LTable)
	// Functions add Go functions over plain values to the kumo module of every state, by name.
	Functions map[string]Func
	// Modules are Lua sources that `require` finds by name before searching the file system. hookd
	// bundles `policy-extras.log_hooks`; a module given here under the same name replaces it.
	Modules map[string]string
	// Deadlines bound how long one call into the policy may run, by kind of call (see
	// DefaultDeadlines for the kinds); a call past its deadline is stopped, reported with its
	// policy location, and its Lua state is never used again. Missing kinds take the defaults; a
	// negative value means no deadline.
	Deadlines map[string]time.Duration
	// MemoryLimit bounds the memory one Lua state may hold, in bytes: a call that makes its state
	// grow past it is stopped with a MemoryError and the state is discarded. 0 means
	// DefaultMemoryLimit; a negative value means no limit.
	MemoryLimit int64
}

// memoryLimit is the limit in bytes (0 = none).
func (o *Options) memoryLimit() int64 {
	switch {
	case o.MemoryLimit == 0:
		return DefaultMemoryLimit
	case o.MemoryLimit < 0:
		return 0
	}
	return o.MemoryLimit
}

// DefaultDeadlines are the deadlines of calls into the policy, by kind. Deliveries get the longest:
// a send usually waits on an HTTP request, whose own timeout (60 s by default) should end it first.
var DefaultDeadlines = map[string]time.Duration{
	"config":                          30 * time.Second, // pre_init, init
	"should_enqueue_log_record":       5 * time.Second,
	"get_queue_config":                10 * time.Second,
	"get_egress_path_config":          10 * time.Second,
	"constructor":                     30 * time.Second,
	"send":                            90 * time.Second, // send and send_batch
	"close":                           10 * time.Second,
	"filter_event":                    5 * time.Second,
	"http_server_validate_auth_basic": 5 * time.Second,
}

// deadline is the limit for a kind of call (0 = none).
func (o *Options) deadline(kind string) time.Duration {
	d, ok := o.Deadlines[kind]
	if !ok {
		d = DefaultDeadlines[kind]
	}
	return max(d, 0)
}

// Policy is a compiled policy script together with what its pre_init and init events configured.
// Build Lua states for it with NewState; each state is owned by one goroutine at a time.
type Policy struct {
	name   string
	hash   string // of the script's text
	dir    string
	proto  *glua.FunctionProto
	opts   Options
	config *config.Policy
	log    *slog.Logger

	events map[string]bool // the events the script registered handlers for

	mu    sync.Mutex
	first *State // the state that ran pre_init and init, handed out once by NewState
}

// Load compiles the policy file at path, runs it, then runs its pre_init and init events once.
// Errors read "FILE:LINE: reason".
func Load(path string, opts Options) (*Policy, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", path, err)
	}
	return LoadSource(path, src, opts)
}

// LoadSource is Load for a script held in memory; name stands for its file name in messages.
func LoadSource(name string, src []byte, opts Options) (*Policy, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	chunk, err := parse.Parse(bytes.NewReader(src), name)
	if err != nil {
		return nil, syntaxError(name, src, err)
	}
	proto, err := glua.Compile(chunk, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	sum := sha256.Sum256(src)
	p := &Policy{name: name, hash: hex.EncodeToString(sum[:8]), dir: filepath.Dir(name), proto: proto, opts: opts,
		config: &config.Policy{}, log: opts.Logger}
	s, err := p.newState(true)
	if err != nil {
		return nil, err
	}
	if err := s.runConfigEvents(); err != nil {
		s.Close()
		return nil, err
	}
	p.first = s
	p.events = make(map[string]bool, len(s.handlers))
	for name, hs := range s.handlers {
		p.events[name] = len(hs) > 0
	}
	return p, nil
}

// Hash identifies the script's text (the first 16 hex digits of its SHA-256): cluster members must
// run the same policy. Modules it requires are not part of it.
func (p *Policy) Hash() string { return p.hash }

// Handles reports whether the script registers a handler for the event (kumo.on).
func (p *Policy) Handles(event string) bool { return p.events[event] }

// Name is the policy's file name.
func (p *Policy) Name() string { return p.name }

// Config is what pre_init and init configured.
func (p *Policy) Config() *config.Policy { return p.config }

// NewState returns a Lua state with the policy loaded and its handlers registered, without running
// pre_init or init.
func (p *Policy) NewState() (*State, error) {
	p.mu.Lock()
	s := p.first
	p.first = nil
	p.mu.Unlock()
	if s != nil {
		return s, nil
	}
	return p.newState(false)
}

func (p *Policy) newState(configure bool) (*State, error) {
	L := glua.NewState(glua.Options{SkipOpenLibs: false})
	s := &State{L: L, policy: p, handlers: map[string][]handler{}, configuring: configure}
	s.meter = newMeter(s, p.opts.memoryLimit())
	L.SetContext(s.meter)
	if err := meterCoroutines(L, s.meter); err != nil {
		s.Close()
		return nil, err
	}
	s.openKumo()
	installLazyTableViews(L)
	installStringFormat(L)
	s.setSearchPath()
	fn := L.NewFunctionFromProto(p.proto)
	L.Push(fn)
	if err := L.PCall(0, 0, nil); err != nil {
		s.Close()
		if cause, ok := s.meter.Err().(*memoryExceeded); ok {
			return nil, &MemoryError{Event: "the policy's top level", Limit: cause.limit, Where: luaError(err).Error()}
		}
		return nil, luaError(err)
	}
	return s, nil
}

func (s *State) setSearchPath() {
	pkg, ok := s.L.GetGlobal("package").(*glua.LTable)
	if !ok {
		return
	}
	dir := s.policy.dir
	path := filepath.Join(dir, "?.lua") + ";" + filepath.Join(dir, "?", "init.lua")
	if cur, ok := pkg.RawGetString("path").(glua.LString); ok && cur != "" {
		path += ";" + string(cur)
	}
	pkg.RawSetString("path", glua.LString(path))
	preload, ok := pkg.RawGetString("preload").(*glua.LTable)
	if !ok {
		return
	}
	modules := map[string]string{}
	for name, src := range extras.Modules {
		modules[name] = src
	}
	for name, src := range s.policy.opts.Modules { // an embedder's modules win over the bundled ones
		modules[name] = src
	}
	for name, src := range modules {
		name, src := name, src
		preload.RawSetString(name, s.L.NewFunction(func(L *glua.LState) int {
			// The chunk is named after the module, so errors and handler locations inside it read
			// "policy-extras/log_hooks.lua:12" rather than "<string>:12".
			fn, err := L.Load(strings.NewReader(src), strings.ReplaceAll(name, ".", "/")+".lua")
			if err != nil {
				L.RaiseError("loading bundled module %s: %v", name, err)
			}
			L.Push(fn)
			L.Call(0, 1)
			return 1
		}))
	}
}

// Pool keeps spare Lua states of a policy for short tasks (queue configuration) and sessions. It is
// safe for concurrent use; a state taken with Get belongs to the caller until Put.
type Pool struct {
	max    int
	mu     sync.Mutex
	policy *Policy
	spare  []*State
}

// SetPolicy makes the pool hand out states of p from now on (a reload); spare states of the old
// policy are closed, and those still out are closed when they come back.
func (p *Pool) SetPolicy(pol *Policy) {
	p.mu.Lock()
	old := p.spare
	p.policy, p.spare = pol, nil
	p.mu.Unlock()
	for _, s := range old {
		s.Close()
	}
}

// NewPool returns a pool that keeps at most maxSpare idle states.
func NewPool(p *Policy, maxSpare int) *Pool { return &Pool{policy: p, max: maxSpare} }

// Get returns a spare state, or a new one.
func (p *Pool) Get() (*State, error) {
	p.mu.Lock()
	pol := p.policy
	if n := len(p.spare); n > 0 {
		s := p.spare[n-1]
		p.spare = p.spare[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.mu.Unlock()
	return pol.NewState()
}

// Put returns a state to the pool; a state that is broken, of an older policy, or beyond the spare
// limit is closed.
func (p *Pool) Put(s *State) {
	if s == nil || s.broken {
		s.Close()
		return
	}
	p.mu.Lock()
	if len(p.spare) < p.max && s.policy == p.policy {
		p.spare = append(p.spare, s)
		s = nil
	}
	p.mu.Unlock()
	s.Close()
}

// Close closes every spare state.
func (p *Pool) Close() {
	p.mu.Lock()
	spare := p.spare
	p.spare = nil
	p.mu.Unlock()
	for _, s := range spare {
		s.Close()
	}
}

// syntaxError turns a gopher-lua parse error into "FILE:LINE: reason".
func syntaxError(name string, src []byte, err error) error {
	var pe *parse.Error
	if errors.As(err, &pe) {
		msg := strings.TrimSpace(pe.Message)
		if !strings.Contains(msg, "syntax error") {
			msg = "syntax error: " + msg
		}
		line := pe.Pos.Line
		if line < 1 { // the parser ran into the end of the file
			line = bytes.Count(src, []byte("\n")) + 1
			msg += " at the end of the file"
		} else if pe.Token != "" {
			msg += fmt.Sprintf(" near '%s'", pe.Token)
		}
		return &Error{File: name, Line: line, Msg: msg}
	}
	return fmt.Errorf("%s: %w", name, err)
}

// Error is a policy error with its location.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// luaError turns an error out of a protected call into a one-line error that starts with the policy
// location, as Lua reports it ("init.lua:12: message"); the traceback is dropped.
func luaError(err error) error {
	var ae *glua.ApiError
	if !errors.As(err, &ae) {
		return err
	}
	if r, ok := rejectOf(ae.Object); ok {
		return r
	}
	msg := ae.Object.String()
	if i := strings.Index(msg, "\nstack traceback:"); i >= 0 {
		msg = msg[:i]
	}
	return errors.New(strings.TrimSpace(msg))
}
