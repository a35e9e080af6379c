package redisstore_test

import (
	"context"
	"os"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

var _ oidcmw.Store = (*redisstore.Store)(nil)

// client connects to the Redis named by OIDCMW_TEST_REDIS_URL
// (redis://127.0.0.1:6379/0 or unix:///path/redis.sock). Without it the
// test is skipped locally and fails in CI, where .ci/run starts Redis.
func client(t *testing.T) *redis.Client {
	t.Helper()
	u := os.Getenv("OIDCMW_TEST_REDIS_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OIDCMW_TEST_REDIS_URL is not set; .ci/run starts redis-server and sets it")
		}
		t.Skip("set OIDCMW_TEST_REDIS_URL to run against a real Redis")
	}
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
