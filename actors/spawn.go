package actors

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"
)

// spawn starts a top-level actor with a deterministic ID ("kind/id"), refusing a duplicate instead of
// letting hollywood drop it silently. Callers serialise spawns of the same kind.
func (s *System) spawn(p actor.Producer, kind, id string) (*actor.PID, error) {
	if s.engine.Registry.GetPID(kind, id) != nil {
		return nil, fmt.Errorf("actor %s/%s already exists", kind, id)
	}
	return s.engine.Spawn(p, kind, s.actorOpts(id)...), nil
}

func (s *System) actorOpts(id string) []actor.OptFunc {
	return []actor.OptFunc{
		actor.WithID(id),
		actor.WithInboxSize(256),
		actor.WithMiddleware(recoverer(s.log, &s.stats.Panics)),
	}
}

// recoverer keeps a panic in a receiver from reaching hollywood, whose restart path loses the
// actor's state and, past MaxRestarts, the whole process. The panic is logged and counted; the actor
// carries on with its next message.
func recoverer(log *slog.Logger, count *atomic.Uint64) actor.MiddlewareFunc {
	return func(next actor.ReceiveFunc) actor.ReceiveFunc {
		return func(c *actor.Context) {
			defer func() {
				if r := recover(); r != nil {
					count.Add(1)
					log.Error("recovered from a panic in an actor", "actor", c.PID().ID,
						"message", fmt.Sprintf("%T", c.Message()), "panic", r, "stack", string(debug.Stack()))
				}
			}()
			next(c)
		}
	}
}
