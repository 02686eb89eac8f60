package membership

import (
	"github.com/anthdm/hollywood/actor"
	"github.com/anthdm/hollywood/remote"
)

// NewEngine returns a hollywood engine whose remote listens at addr, the remote started only once
// the engine is complete. actor.NewEngine of hollywood v1.0.5 starts the remote before it creates
// the engine's event stream, so a message arriving in between (a peer's Join, as soon as the port
// opens) reads the event stream while it is being set: a data race. Stop the remote with
// r.Stop().Wait().
func NewEngine(addr string, cfg remote.Config) (*actor.Engine, *remote.Remote, error) {
	r := remote.New(addr, cfg)
	e, err := actor.NewEngine(actor.NewEngineConfig().WithRemote(lateRemote{r}))
	if err != nil {
		return nil, nil, err
	}
	if err := r.Start(e); err != nil {
		return nil, nil, err
	}
	return e, r, nil
}

// lateRemote is a remote whose Start, called by actor.NewEngine, does nothing: NewEngine starts it
// afterwards.
type lateRemote struct{ *remote.Remote }

// Start does nothing; see NewEngine.
func (lateRemote) Start(*actor.Engine) error { return nil }
