package throttle

import (
	"testing"

	"github.com/hookd/hookd/internal/puretest"
)

// TestPureCore: the package reads no clock, sleeps nowhere and does no I/O.
func TestPureCore(t *testing.T) { puretest.Check(t, ".") }
