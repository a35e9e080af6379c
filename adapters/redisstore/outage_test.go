package redisstore_test

import (
	"context"
	"sync/atomic"
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

// countCalls is a go-redis hook that counts the commands and pipelines
// the client sends (or tries to).
type countCalls struct{ n atomic.Int64 }

func (c *countCalls) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *countCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *countCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// TestStoreOutageUnderLoad: Redis stopped under concurrent guarded
// requests. The store's circuit opens: requests answer 503 at once and
// almost none reach Redis during the cool-down; Redis back, requests
// succeed within one cool-down; the log holds the outage, not each
// request.
func TestStoreOutageUnderLoad(t *testing.T) {
	rs := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Network: "unix", Addr: rs.Sock,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: time.Second, PoolTimeout: time.Second})
	defer rc.Close()
	var calls countCalls
	rc.AddHook(&calls)
	// Back means back for the client too: go-redis's pool, having given
	// up dialing, redials once a second on its own.
	start := func() {
		rs.Start()
		for rc.Ping(context.Background()).Err() != nil {
			time.Sleep(10 * time.Millisecond)
		}
	}
	storetest.OutageUnderLoad(t, redisstore.New(rc), rs.Stop, start, calls.n.Load)
}
