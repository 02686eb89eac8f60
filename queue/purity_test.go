package queue

import (
	"testing"

	"github.com/hookd/hookd/internal/puretest"
)

// TestPureCore: the queue's decisions read no clock, sleep nowhere and do no I/O; every one takes
// the time as an argument.
func TestPureCore(t *testing.T) { puretest.Check(t, ".") }
