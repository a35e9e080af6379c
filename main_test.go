package oidcmw_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package's tests when any goroutine outlives them:
// hung provider calls, refresh flights or keep-alive connections that were
// never released. The check uses the standard library only, so that the
// library's go.mod names no test helper (the adapters' modules use goleak).
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(5 * time.Second); leaked != nil {
			fmt.Fprintf(os.Stderr, "%d goroutines outlived the tests:\n\n%s\n", len(leaked), strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to wait for every goroutine but this one and
// the runtime's own to end, and returns the stacks of those still running.
func leakedGoroutines(wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		leaked := otherGoroutines()
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(delay)
	}
}

// otherGoroutines returns the stacks of all goroutines but the caller's
// and those the runtime, os/signal or testing keep for themselves.
func otherGoroutines() []string {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var leaked []string
	// runtime.Stack lists the calling goroutine first.
	for _, g := range strings.Split(string(buf), "\n\n")[1:] {
		if !systemGoroutine(g) {
			leaked = append(leaked, g)
		}
	}
	return leaked
}

func systemGoroutine(stack string) bool {
	for _, fn := range []string{
		"os/signal.signal_recv",
		"os/signal.loop",
		"runtime.ensureSigM",
		"testing.(*M).",
		"testing.RunTests",
		"testing.runFuzzing",
	} {
		if strings.Contains(stack, fn) {
			return true
		}
	}
	return false
}
