package oidcmw_test

import (
	"testing"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

func TestMemoryStoreConformance(t *testing.T) {
	storetest.Run(t, func() oidcmw.Store { return oidcmw.NewMemoryStore(nil) })
}
