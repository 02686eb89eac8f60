package lua

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	glua "github.com/yuin/gopher-lua"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/message"
)

// multipleEvents are the events that take any number of handlers, run in registration order.
var multipleEvents = map[string]bool{
	"pre_init": true, "validate_config": true, "get_queue_config": true, "should_enqueue_log_record": true,
	"requeue_message": true, "throttle_insert_ready_queue": true, "get_acl_definition": true,
}

type handler struct {
	fn    *glua.LFunction
	where string // "init.lua:12", where kumo.on was called
}

// State is one Lua state with the policy loaded. It is not safe for concurrent use: exactly one actor
// (or pool borrower) uses it at a time.
type State struct {
	L           *glua.LState
	policy      *Policy
	handlers    map[string][]handler
	current     string // the event being dispatched, "" at top level
	configuring bool   // true only in the state that runs pre_init and init
	broken      bool   // set when the state must not be reused
	closed      bool
	meter       *meter // the context calls run under: deadlines and the memory limit
	// hookName is the last hook name ShouldEnqueue was given, as a Lua value: a state serves one
	// hook, and boxing the name anew cost an allocation per record.
	hookName glua.LValue
}

// Policy returns the policy this state runs.
func (s *State) Policy() *Policy { return s.policy }

// Close releases the state. It is safe to call more than once, and on nil.
func (s *State) Close() {
	if s == nil || s.closed {
		return
	}
	s.closed = true
	s.meter.stop()
	s.L.Close()
}

// Discard marks the state as not reusable (for instance after an interrupted call).
func (s *State) Discard() { s.broken = true }

// Broken reports whether the state must not be used again: a call into it was interrupted.
func (s *State) Broken() bool { return s.broken }

// DeadlineError is a call into the policy that ran past its deadline and was stopped.
type DeadlineError struct {
	Event string
	Limit time.Duration
	Where string // the policy location where it was stopped, as Lua reports it
}

func (e *DeadlineError) Error() string {
	return fmt.Sprintf("%s %s ran longer than %s and was stopped", trimCause(e.Where), e.Event, e.Limit)
}

// trimCause is the policy location of an interrupted call's error, "init.lua:12:", without the
// interruption's own text.
func trimCause(where string) string {
	if loc := locationPrefix.FindString(where); loc != "" {
		return strings.TrimSuffix(loc, " ")
	}
	loc := strings.TrimSuffix(where, "context deadline exceeded")
	return strings.TrimSuffix(strings.TrimSuffix(loc, "context canceled"), " ")
}

// RetiredError is a call refused because its state was stopped earlier, by another call that ran
// past its deadline: nothing runs in such a state again.
type RetiredError struct{ Event string }

func (e *RetiredError) Error() string {
	return e.Event + " not run: its Lua state was stopped earlier by a call past its deadline"
}

func (s *State) runConfigEvents() error {
	s.configuring = true
	defer func() { s.configuring = false }()
	for i := range s.handlers["pre_init"] { // every pre_init handler runs
		if _, err := s.call("pre_init", "config", s.handlers["pre_init"][i]); err != nil {
			return err
		}
	}
	if h, ok := s.single("init"); ok {
		if _, err := s.call("init", "config", h); err != nil {
			return err
		}
	}
	return nil
}

// on implements kumo.on(name, fn).
func (s *State) on(L *glua.LState) int {
	name := L.CheckString(1)
	fn := L.CheckFunction(2)
	if s.current != "" {
		L.RaiseError("Attempting to register an event handler via `kumo.on('%s', ...)` from within the event handler '%s'. "+
			"Event handlers must be registered at the top level of the policy script.", name, s.current)
	}
	where := location(L)
	if !multipleEvents[name] {
		if prev, ok := s.handlers[name]; ok {
			L.RaiseError("%s event already has a handler defined at %s", name, prev[0].where)
		}
	}
	s.handlers[name] = append(s.handlers[name], handler{fn: fn, where: where})
	return 0
}

// location is "file:line" of the Lua code that called the running Go function.
func location(L *glua.LState) string {
	if dbg, ok := L.GetStack(1); ok {
		if _, err := L.GetInfo("Sl", dbg, glua.LNil); err == nil && dbg.CurrentLine > 0 {
			return fmt.Sprintf("%s:%d", dbg.Source, dbg.CurrentLine)
		}
	}
	return "?"
}

func (s *State) single(name string) (handler, bool) {
	hs := s.handlers[name]
	if len(hs) == 0 {
		return handler{}, false
	}
	return hs[0], true
}

// HasHandler reports whether the event has at least one handler.
func (s *State) HasHandler(name string) bool { return len(s.handlers[name]) > 0 }

// call runs one handler under the deadline of its kind and returns its return values.
func (s *State) call(event, kind string, h handler, args ...glua.LValue) ([]glua.LValue, error) {
	base, err := s.invoke(event, kind, h, args...)
	if err != nil {
		return nil, err
	}
	L := s.L
	rets := make([]glua.LValue, L.GetTop()-base)
	for i := range rets {
		rets[i] = L.Get(base + 1 + i)
	}
	L.SetTop(base)
	return rets, nil
}

// callFirst is call for a caller that wants only the first return value (nil when there is none).
func (s *State) callFirst(event, kind string, h handler, args ...glua.LValue) (glua.LValue, error) {
	base, err := s.invoke(event, kind, h, args...)
	if err != nil {
		return nil, err
	}
	var v glua.LValue = glua.LNil
	if s.L.GetTop() > base {
		v = s.L.Get(base + 1)
	}
	s.L.SetTop(base)
	return v, nil
}

// invoke runs one handler under the deadline of its kind and leaves its return values on the stack
// above base; on an error the stack is back at base.
func (s *State) invoke(event, kind string, h handler, args ...glua.LValue) (base int, err error) {
	if s.broken || s.meter.Context.Err() != nil {
		s.broken = true
		return 0, &RetiredError{Event: event}
	}
	L := s.L
	prev := s.current
	s.current = event
	defer func() { s.current = prev }()
	if d := s.policy.opts.deadline(kind); d > 0 && !s.meter.armed {
		s.meter.deadline(d)
		defer func() {
			if !s.meter.disarm() {
				s.broken = true // the timer fired, perhaps just as the call returned
			}
		}()
	}
	base = L.GetTop()
	L.Push(h.fn)
	for _, a := range args {
		L.Push(a)
	}
	if err := L.PCall(len(args), glua.MultRet, nil); err != nil {
		L.SetTop(base)
		if cause := s.meter.Err(); cause != nil {
			s.broken = true // interrupted mid-way: its globals may be half-updated
			if _, ok := cause.(*memoryExceeded); ok {
				return base, &MemoryError{Event: event, Limit: s.meter.limit, Where: luaError(err).Error()}
			}
			return base, &DeadlineError{Event: event, Limit: s.policy.opts.deadline(kind), Where: luaError(err).Error()}
		}
		return base, luaError(err)
	}
	s.meter.ended()
	if s.meter.Context.Err() != nil {
		L.SetTop(base)
		s.broken = true
		return base, &MemoryError{Event: event, Limit: s.meter.limit, Where: h.where + ": "}
	}
	return base, nil
}

// callChain dispatches a multiple-handler event: handlers run in registration order; one that
// returns nothing or nil passes to the next; any other value is final. It returns the final value, the
// handler that decided, and whether any did.
func (s *State) callChain(event string, args ...glua.LValue) (glua.LValue, *handler, error) {
	for i := range s.handlers[event] {
		h := &s.handlers[event][i]
		v, err := s.callFirst(event, event, *h, args...)
		if err != nil {
			return nil, nil, err
		}
		if v == glua.LNil {
			continue
		}
		return v, h, nil
	}
	return nil, nil, nil
}

// ShouldEnqueue runs the should_enqueue_log_record chain for a hook's message. With no handler, or
// when every handler passes, the answer is false.
func (s *State) ShouldEnqueue(m *Message, hook string) (bool, error) {
	if name, ok := s.hookName.(glua.LString); !ok || string(name) != hook {
		s.hookName = glua.LString(hook)
	}
	v, _, err := s.callChain("should_enqueue_log_record", m.userdata(s.L), s.hookName)
	if err != nil {
		return false, eventError("should_enqueue_log_record", err)
	}
	return v != nil && glua.LVAsBool(v), nil
}

// QueueConfig runs the get_queue_config chain for a queue; with no decision it returns the default.
func (s *State) QueueConfig(q message.QueueName) (*config.Queue, error) {
	v, h, err := s.callChain("get_queue_config", glua.LString(q.Domain), optString(q.Tenant),
		optString(q.Campaign), optString(q.RoutingDomain))
	if err != nil {
		return nil, eventError("get_queue_config", err)
	}
	if h == nil {
		return config.DefaultQueue(), nil
	}
	if ud, ok := v.(*glua.LUserData); ok {
		if qc, ok := ud.Value.(*config.Queue); ok {
			return qc, nil
		}
	}
	return nil, &Error{File: h.fn.Proto.SourceName, Line: h.fn.Proto.LineDefined, Msg: fmt.Sprintf(
		"get_queue_config: the handler returned a %s; it must return the value of kumo.make_queue_config{...}", v.Type())}
}

// EgressPath runs get_egress_path_config; with no handler it returns the defaults.
func (s *State) EgressPath(routingDomain, egressSource, site string) (*config.EgressPath, error) {
	h, ok := s.single("get_egress_path_config")
	if !ok {
		return config.DefaultEgressPath(), nil
	}
	rets, err := s.call("get_egress_path_config", "get_egress_path_config", h, glua.LString(routingDomain),
		glua.LString(egressSource), glua.LString(site))
	if err != nil {
		return nil, eventError("get_egress_path_config", err)
	}
	if len(rets) > 0 {
		if ud, ok := rets[0].(*glua.LUserData); ok {
			if e, ok := ud.Value.(*config.EgressPath); ok {
				return e, nil
			}
		}
	}
	return nil, &Error{File: h.fn.Proto.SourceName, Line: h.fn.Proto.LineDefined,
		Msg: "get_egress_path_config: the handler must return the value of kumo.make_egress_path{...}"}
}

// eventError names the event an error happened in, after its policy location so that the message
// still starts with "FILE:LINE:".
func eventError(event string, err error) error {
	var de *DeadlineError
	var me *MemoryError
	if errors.As(err, &de) || errors.As(err, &me) {
		return err // it names its event already
	}
	msg := err.Error()
	if loc := locationPrefix.FindString(msg); loc != "" {
		return &wrapped{msg: loc + event + ": " + msg[len(loc):], err: err}
	}
	return fmt.Errorf("%s: %w", event, err)
}

var locationPrefix = regexp.MustCompile(`^[^\s:]+:\d+: `)

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

// Filter runs a local logger's filter_event for the message a record is about: truthy keeps the
// record. No handler keeps nothing, as in KumoMTA.
func (s *State) Filter(event string, m *Message) (bool, error) {
	h, ok := s.single(event)
	if !ok {
		return false, errNoHandler(event)
	}
	rets, err := s.call(event, "filter_event", h, m.userdata(s.L))
	if err != nil {
		return false, eventError(event, err)
	}
	return len(rets) > 0 && glua.LVAsBool(rets[0]), nil
}

// ValidateAuthBasic asks the policy's http_server_validate_auth_basic handler whether HTTP basic
// credentials are good. Without a handler nothing is accepted.
func (s *State) ValidateAuthBasic(user, password string) (bool, error) {
	const event = "http_server_validate_auth_basic"
	h, ok := s.single(event)
	if !ok {
		return false, nil
	}
	rets, err := s.call(event, event, h, glua.LString(user), glua.LString(password))
	if err != nil {
		return false, eventError(event, err)
	}
	return len(rets) > 0 && glua.LVAsBool(rets[0]), nil
}

func optString(s *string) glua.LValue {
	if s == nil {
		return glua.LNil
	}
	return glua.LString(*s)
}

// errNoHandler reports a single event without a handler.
func errNoHandler(event string) error {
	return fmt.Errorf("event %q has no handler: kumo.on('%s', ...) was never called", event, event)
}

var errClosed = errors.New("the connection is closed")
