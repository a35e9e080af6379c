package oidcmw_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests when any goroutine outlives them:
// hung provider calls, refresh flights or keep-alive connections that were
// never released. scs's memstore (Example_scs) sweeps in a goroutine of
// its own until the process ends; its StopCleanup races with the start of
// that goroutine, so it is ignored rather than stopped.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/alexedwards/scs/v2/memstore.(*MemStore).startCleanup"))
}
