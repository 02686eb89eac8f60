package actors

import (
	"github.com/hookd/hookd/admin"
	"github.com/hookd/hookd/wire"
)

// Admin is the registry of administrators' bounces and suspensions the queues obey.
func (s *System) Admin() *admin.Registry { return s.admin }

// AdminChanged tells every queue that a bounce or suspension was added or cancelled, so that
// existing queues act on it now (KumoMTA drains bounced queues asynchronously too).
func (s *System) AdminChanged() {
	for _, ref := range s.router.Queues() {
		s.engine.Send(ref.PID, &wire.AdminChanged{})
	}
}
