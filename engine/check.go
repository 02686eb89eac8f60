package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd/config"
	"github.com/hookd/hookd/lua"
	"github.com/hookd/hookd/message"
)

// CheckReport is what Check found out about a policy.
type CheckReport struct {
	Config *config.Policy
	Probes []Probe
}

// Probe is the fate of a sample record offered to one hook, or of a queue named by the caller.
type Probe struct {
	Hook       string // "" for a queue named by the caller
	Kept       bool
	Queue      string
	Protocol   string
	Deliverer  string // the custom_lua constructor
	RetryEvery time.Duration
	MaxAge     time.Duration
}

// Check exercises a loaded policy without delivering anything: each hook is offered a sample
// Delivery record; for every queue a hook keeps it in, and every queue in extraQueues,
// get_queue_config runs and its custom_lua constructor must exist. The first error is returned with
// its policy location.
func (e *Engine) Check(extraQueues ...string) (*CheckReport, error) {
	st, err := e.policy.NewState()
	if err != nil {
		return nil, err
	}
	defer st.Close()
	rep := &CheckReport{Config: e.policy.Config()}
	ids := message.NewIDGen(message.RandomNode())
	for _, h := range rep.Config.Hooks {
		p, err := probeHook(st, ids, h.Name, e.cfg.NodeID)
		if err != nil {
			return rep, err
		}
		if p.Kept {
			if err := probeQueue(st, &p); err != nil {
				return rep, err
			}
		}
		rep.Probes = append(rep.Probes, p)
	}
	for _, q := range extraQueues {
		p := Probe{Queue: q}
		if err := probeQueue(st, &p); err != nil {
			return rep, err
		}
		rep.Probes = append(rep.Probes, p)
	}
	return rep, nil
}

func probeHook(st *lua.State, ids *message.IDGen, hook, node string) (Probe, error) {
	now := time.Now().UTC()
	rec := &message.LogRecord{Type: message.Delivery, ID: ids.New(now).String(), Sender: "sender@example.com",
		Recipient: message.Recipients{"recipient@example.com"}, Queue: "example.com", Timestamp: now.Unix(),
		EventTime: now, Created: now.Unix(), CreatedTime: now, BounceClassification: "Uncategorized", NodeID: node,
		Response: message.Response{Code: 250, Content: "OK"}}
	body := append(rec.AppendJSON(nil), '\n')
	m, err := message.NewHookMessage(rec, ids.New(now), body)
	if err != nil {
		return Probe{}, err
	}
	keep, err := st.ShouldEnqueue(&lua.Message{Msg: m, Record: rec}, hook)
	if err != nil {
		return Probe{}, err
	}
	p := Probe{Hook: hook, Kept: keep}
	if keep {
		if p.Queue, err = m.QueueName(); err != nil {
			return p, fmt.Errorf("hook %s: the kept message has no valid queue name: %w", hook, err)
		}
	}
	return p, nil
}

func probeQueue(st *lua.State, p *Probe) error {
	if p.Queue == "null" {
		p.Protocol = "null"
		return nil
	}
	qc, err := st.QueueConfig(message.ParseQueueName(p.Queue))
	if err != nil {
		return err
	}
	p.Protocol, p.RetryEvery, p.MaxAge = qc.Protocol, qc.RetryInterval, qc.MaxAge
	if qc.CustomLua != nil {
		p.Deliverer = qc.CustomLua.Constructor
		if !st.HasHandler(qc.CustomLua.Constructor) {
			return fmt.Errorf("%s: queue %s: protocol.custom_lua.constructor %q has no handler (kumo.on('%s', ...) is missing)",
				qc.Where, p.Queue, qc.CustomLua.Constructor, qc.CustomLua.Constructor)
		}
	}
	return nil
}

// String renders the report for people.
func (r *CheckReport) String() string {
	var b strings.Builder
	b.WriteString(r.Config.Summary())
	for _, p := range r.Probes {
		switch {
		case p.Hook != "" && !p.Kept:
			fmt.Fprintf(&b, "probe: hook %s drops a sample Delivery record\n", p.Hook)
		default:
			who := "queue " + p.Queue
			if p.Hook != "" {
				who = fmt.Sprintf("hook %s keeps a sample Delivery record in queue %s", p.Hook, p.Queue)
			}
			fmt.Fprintf(&b, "probe: %s: protocol %s", who, p.Protocol)
			if p.Deliverer != "" {
				fmt.Fprintf(&b, " via %s", p.Deliverer)
			}
			if p.Protocol != config.ProtocolCustomLua && p.Protocol != "null" {
				b.WriteString(" (hookd cannot deliver this queue: no SMTP)")
			}
			fmt.Fprintf(&b, ", retry %s, max_age %s\n", message.FormatDuration(p.RetryEvery), message.FormatDuration(p.MaxAge))
		}
	}
	return b.String()
}
