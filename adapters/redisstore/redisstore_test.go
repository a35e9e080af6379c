package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/internal/redistest"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

var _ oidcmw.Store = (*redisstore.Store)(nil)

// client connects to the Redis named by OIDCMW_TEST_REDIS_URL (see
// redistest.URL).
func client(t *testing.T) *redis.Client {
	t.Helper()
	u := redistest.URL(t)
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %s: %v", u, err)
	}
	return c
}

func TestConformance(t *testing.T) {
	c := client(t)
	storetest.Run(t, func() oidcmw.Store { return redisstore.New(c) })
}

func TestOutageIsAnError(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer c.Close()
	s := redisstore.New(c)
	if _, _, err := s.Get(context.Background(), "k"); err == nil {
		t.Fatal("Get against no server: nil error")
	}
	if _, _, err := s.Take(context.Background(), "k"); err == nil {
		t.Fatal("Take against no server: nil error")
	}
}
