package engine

import (
	"github.com/hookd/hookd/admin"
)

// AdminBounce bounces every queued message matching the request (now, and until it expires):
// each gets an AdminBounce record (unless suppressed) and leaves the spool.
func (e *Engine) AdminBounce(req admin.BounceRequest) (admin.Entry, error) {
	sys, err := e.system()
	if err != nil {
		return admin.Entry{}, err
	}
	entry := sys.Admin().Add(admin.Bounce, req.Criteria, req.Reason, 0, req.Expires, req.SuppressLogging, e.cfg.Clock.Now())
	sys.AdminChanged()
	return entry, nil
}

// AdminSuspend suspends the matching queues until the request expires: their due messages fail
// transiently (451 4.4.4) and wait for their next retry.
func (e *Engine) AdminSuspend(req admin.SuspendRequest) (admin.Entry, error) {
	sys, err := e.system()
	if err != nil {
		return admin.Entry{}, err
	}
	entry := sys.Admin().Add(admin.Suspend, req.Criteria, req.Reason, 0, req.Expires, false, e.cfg.Clock.Now())
	sys.AdminChanged()
	return entry, nil
}

// AdminCancel ends a bounce or suspension by id; false when there is none.
func (e *Engine) AdminCancel(id string) (bool, error) {
	sys, err := e.system()
	if err != nil {
		return false, err
	}
	ok := sys.Admin().Cancel(id)
	if ok {
		sys.AdminChanged()
	}
	return ok, nil
}

// AdminList lists the active bounces or suspensions.
func (e *Engine) AdminList(kind admin.Kind) ([]admin.Entry, error) {
	sys, err := e.system()
	if err != nil {
		return nil, err
	}
	return sys.Admin().List(kind, e.cfg.Clock.Now()), nil
}

// Now is the engine's clock reading.
func (e *Engine) Now() timeT { return e.cfg.Clock.Now() }
