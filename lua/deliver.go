package lua

import (
	"errors"
	"fmt"

	glua "github.com/yuin/gopher-lua"
)

// OutcomeKind says how a send or send_batch call ended.
type OutcomeKind uint8

// The ways a delivery call can end.
const (
	Returned OutcomeKind = iota // the method returned a string or number
	Rejected                    // the method raised kumo.reject(code, message)
	Failed                      // any other error, or a result of the wrong type
)

// Outcome is the result of one send or send_batch call, before it is mapped to records.
type Outcome struct {
	Kind        OutcomeKind
	Text        string // the returned text, the reject message, or the error chain
	Code        int    // the reject code
	Interrupted bool   // the call ran past its deadline and was stopped (Kind is Failed)
}

// Connection is the Lua object a custom_lua constructor returned, bound to the state that built it.
type Connection struct {
	s           *State
	obj         glua.LValue
	constructor string
	closed      bool
}

// Connect calls the constructor event with (domain, tenant, campaign) once, for a new session.
func (s *State) Connect(constructor, domain string, tenant, campaign *string) (*Connection, error) {
	h, ok := s.single(constructor)
	if !ok {
		return nil, errNoHandler(constructor)
	}
	rets, err := s.call(constructor, "constructor", h, glua.LString(domain), optString(tenant), optString(campaign))
	if err != nil {
		return nil, err
	}
	if len(rets) == 0 {
		return nil, fmt.Errorf("%s returned nothing: invalid connection object", constructor)
	}
	return &Connection{s: s, obj: rets[0], constructor: constructor}, nil
}

// Send calls conn:send(msg).
func (c *Connection) Send(m *Message) Outcome {
	return c.invoke("send", m.userdata(c.s.L))
}

// SendBatch calls conn:send_batch(msgs) with a Lua array of the messages.
func (c *Connection) SendBatch(ms []*Message) Outcome {
	t := c.s.L.CreateTable(len(ms), 0)
	for _, m := range ms {
		t.Append(m.userdata(c.s.L))
	}
	return c.invoke("send_batch", t)
}

func (c *Connection) invoke(method string, arg glua.LValue) Outcome {
	fail := func(format string, args ...any) Outcome {
		return Outcome{Kind: Failed, Text: fmt.Sprintf("sender:%s method failed: ", method) + fmt.Sprintf(format, args...)}
	}
	if c.closed {
		return fail("%v", errClosed)
	}
	if _, ok := c.obj.(*glua.LTable); !ok {
		return fail("invalid connection object: the constructor %s returned a %s", c.constructor, c.obj.Type())
	}
	fn, ok := c.s.L.GetField(c.obj, method).(*glua.LFunction)
	if !ok {
		return fail("the connection object has no %s method", method)
	}
	rets, err := c.s.call(c.constructor+":"+method, "send", handler{fn: fn}, c.obj, arg)
	if err != nil {
		var r *Reject
		if errors.As(err, &r) {
			return Outcome{Kind: Rejected, Code: r.Code, Text: r.Message}
		}
		out := fail("%v", err)
		var de *DeadlineError
		out.Interrupted = errors.As(err, &de)
		return out
	}
	if len(rets) > 0 {
		switch v := rets[0].(type) {
		case glua.LString:
			return Outcome{Kind: Returned, Text: string(v)}
		case glua.LNumber:
			return Outcome{Kind: Returned, Text: v.String()}
		}
		return fail("expected the method to return a string, got %s", rets[0].Type())
	}
	return fail("expected the method to return a string, got nothing")
}

// Close calls conn:close() if the object has a close function. It is safe to call more than once.
func (c *Connection) Close() error {
	if c == nil || c.closed {
		return nil
	}
	c.closed = true
	if _, ok := c.obj.(*glua.LTable); !ok || c.s.Broken() {
		return nil // a retired state runs nothing: the connection goes with it
	}
	fn, ok := c.s.L.GetField(c.obj, "close").(*glua.LFunction)
	if !ok {
		return nil
	}
	_, err := c.s.call(c.constructor+":close", "close", handler{fn: fn}, c.obj)
	return err
}
