package oidcmw_test

import (
	"testing"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func() oidcmw.Store { return oidcmw.NewMemoryStore(nil) })
}

// TestMemoryStoreInstances runs the multi-instance scenarios on two
// middlewares of one process sharing one MemoryStore: logout during a
// refresh, a callback raced on both, refresh once, back-channel logout.
func TestMemoryStoreInstances(t *testing.T) {
	stores := map[*testing.T]oidcmw.Store{}
	storetest.RunInstances(t, func(t *testing.T) oidcmw.Store {
		if stores[t] == nil {
			stores[t] = oidcmw.NewMemoryStore(nil)
		}
		return stores[t]
	}, 0)
}
