package redisstore_test

import (
	"testing"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

// TestInstances: two app instances sharing one Redis (see
// storetest.RunInstances).
func TestInstances(t *testing.T) {
	c := client(t)
	storetest.RunInstances(t, func(*testing.T) oidcmw.Store { return redisstore.New(c) }, 0)
}
