package engine

import (
	"context"

	"github.com/hookd/hookd/admin"
)

// AdminBounce bounces every queued message matching the request (now, and until it expires):
// each gets an AdminBounce record (unless suppressed) and leaves the spool. On a cluster member the
// bounce applies on every member (see ClusterConfig), under the returned entry's ID.
func (e *Engine) AdminBounce(req admin.BounceRequest) (admin.Entry, error) {
	sys, err := e.system()
	if err != nil {
		return admin.Entry{}, err
	}
	return sys.AddAdmin(admin.Bounce, req.Criteria, req.Reason, req.Expires, req.SuppressLogging), nil
}

// AdminSuspend suspends the matching queues until the request expires: their due messages fail
// transiently (451 4.4.4) and wait for their next retry. On a cluster member the suspension
// applies on every member.
func (e *Engine) AdminSuspend(req admin.SuspendRequest) (admin.Entry, error) {
	sys, err := e.system()
	if err != nil {
		return admin.Entry{}, err
	}
	return sys.AddAdmin(admin.Suspend, req.Criteria, req.Reason, req.Expires, false), nil
}

// AdminCancel ends a bounce or suspension by id; false when there is none. On a cluster member it
// ends on every member, whichever member it was added on.
func (e *Engine) AdminCancel(id string) (bool, error) {
	sys, err := e.system()
	if err != nil {
		return false, err
	}
	return sys.CancelAdmin(id), nil
}

// AdminList lists the active bounces or suspensions. On a cluster member the list is the
// cluster's (every member holds every rule), and a bounce's counts are the sum of the members'
// (each counts its own queues'; a member that does not answer within 2 s adds nothing).
func (e *Engine) AdminList(kind admin.Kind) ([]admin.Entry, error) {
	sys, err := e.system()
	if err != nil {
		return nil, err
	}
	return sys.AdminList(context.Background(), kind), nil
}

// Now is the engine's clock reading.
func (e *Engine) Now() timeT { return e.cfg.Clock.Now() }
