package membership

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when goroutines outlive the tests: every member's engine, remote,
// probes and callbacks stop with it.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
