package actors

import (
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"

	"github.com/anthdm/hollywood/actor"
)

// actorOpts are the options of every ordinary (non-loop) actor hookd spawns.
func actorOpts(log *slog.Logger, panics *atomic.Uint64) []actor.OptFunc {
	return []actor.OptFunc{actor.WithInboxSize(256), actor.WithMiddleware(recoverer(log, panics))}
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

// engineSender is the Sender of code outside any actor: timers, spool callbacks, the wiring.
type engineSender struct{ e *actor.Engine }

func (s engineSender) Send(pid *actor.PID, msg any) { s.e.Send(pid, msg) }
