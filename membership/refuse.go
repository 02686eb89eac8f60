package membership

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/hookd/hookd/wire"
)

// refuse turns away the member mi, whose Join (sent to dialed) has a different protocol version,
// an id already in use or a different policy: r says why, and the refused member stops with an
// error in its own words (refusedError). This member logs a warning and carries on.
func (c *core) refuse(mi *wire.MemberInfo, dialed string, r *wire.Refused) {
	slog.Warn("hookd: cluster: refused a member", "member", c.self.ID, "refused", mi.GetId(), "addr", mi.GetAddr(),
		"reason", r.Reason)
	r.Member = c.info(&c.self)
	r.Incarnation = mi.GetIncarnation()
	r.PolicyHash = c.policy
	r.Protocol = c.protocol
	r.Dialed = dialed
	c.send(mi.GetAddr(), r)
}

// refuseDuplicate refuses mi, whose id the member at holder already has.
func (c *core) refuseDuplicate(mi *wire.MemberInfo, dialed, holder string) {
	c.refuse(mi, dialed, &wire.Refused{Code: wire.RefusedCode_REFUSED_CODE_DUPLICATE_ID, HolderAddr: holder,
		Reason: fmt.Sprintf("the cluster id %q is already used by the member at %s", mi.GetId(), holder)})
}

// refusedError is the one-line error of a Refused, in this member's words.
func (c *core) refusedError(r *wire.Refused) error {
	var why string
	switch r.GetCode() {
	case wire.RefusedCode_REFUSED_CODE_DUPLICATE_ID:
		why = fmt.Sprintf("the cluster id %q is already used by the member at %s", c.self.ID, r.GetHolderAddr())
	case wire.RefusedCode_REFUSED_CODE_POLICY_HASH:
		why = fmt.Sprintf("it runs policy hash %q, we run %q", r.GetPolicyHash(), c.policy)
	case wire.RefusedCode_REFUSED_CODE_PROTOCOL:
		why = fmt.Sprintf("it speaks membership protocol %d, we speak %d", r.GetProtocol(), c.protocol)
	default:
		why = r.GetReason()
	}
	return fmt.Errorf("%s", oneLine(fmt.Sprintf("hookd: cluster: member %q at %s refused us: %s",
		r.GetMember().GetId(), r.GetMember().GetAddr(), why)))
}

// oneLine replaces the control characters a peer may have put in a string.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}
