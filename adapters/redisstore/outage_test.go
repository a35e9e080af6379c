package redisstore_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/internal/redistest"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

// TestStoreOutage: with Redis gone the guard fails closed with 503 (never a
// login loop), quickly; when Redis is back the session works again without
// restarting the app; no goroutine is left behind.
func TestStoreOutage(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rs := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Network: "unix", Addr: rs.Sock,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second,
		WriteTimeout: time.Second, PoolTimeout: time.Second, MaxRetries: -1})
	defer rc.Close()
	storetest.Outage(t, redisstore.New(rc), rs.Stop, rs.Start, 5*time.Second)
}
