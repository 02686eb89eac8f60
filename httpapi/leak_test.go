package httpapi

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: every engine, session and
// timer a test starts must be stopped by the time it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
