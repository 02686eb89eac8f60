package queue

import "fmt"

// Call says how a delivery call (send or send_batch) ended, as the Lua layer reports it.
type Call struct {
	Returned bool   // the method returned a string or number: Text is it
	Code     int    // kumo.reject code, when Rejected
	Rejected bool   // the method raised kumo.reject(Code, Text)
	Text     string // returned text, reject message, or error chain
}

// Verdict is what a call means for every message of its batch: the record to log, its response, and
// whether the connection must be closed.
type Verdict struct {
	Disposition Disposition
	Code        int
	Content     string
	Close       bool
}

// InternalErrorPrefix starts the content of a transient failure caused by an error in the policy.
const InternalErrorPrefix = "KumoMTA internal: error in deliver_message: "

// ConnectErrorPrefix starts the content of a transient failure caused by a failing constructor.
const ConnectErrorPrefix = "KumoMTA internal: failed to connect to any candidate hosts: "

// Classify maps a delivery call to its outcome, as KumoMTA's custom_lua protocol does:
//
//	returned a string or number     → Delivery 200 with that text
//	kumo.reject(c, m), 400 ≤ c < 500 → TransientFailure c m (421 also closes the connection)
//	kumo.reject(c, m), any other c   → Bounce c m
//	any other error                  → TransientFailure 400 "KumoMTA internal: …", connection closed
func Classify(c Call) Verdict {
	switch {
	case c.Returned:
		return Verdict{Disposition: Delivered, Code: 200, Content: c.Text}
	case c.Rejected && c.Code >= 400 && c.Code < 500:
		return Verdict{Disposition: Transient, Code: c.Code, Content: c.Text, Close: c.Code == 421}
	case c.Rejected:
		return Verdict{Disposition: Bounced, Code: c.Code, Content: c.Text}
	default:
		return Verdict{Disposition: Transient, Code: 400, Content: InternalErrorPrefix + c.Text, Close: true}
	}
}

// ConnectFailed is the verdict for a batch whose session could not be set up (constructor error).
func ConnectFailed(err error) Verdict {
	return Verdict{Disposition: Transient, Code: 400, Content: fmt.Sprint(ConnectErrorPrefix, err), Close: true}
}
