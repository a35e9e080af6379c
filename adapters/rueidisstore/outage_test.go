package rueidisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/oidcmw/oidcmw/adapters/rueidisstore"
	"github.com/oidcmw/oidcmw/internal/redistest"
)

// TestOutage: with Redis gone, Get fails within OpTimeout (the middleware
// answers 503) rather than serve a value from the client-side cache, which
// could no longer learn of a logout, or wait for Redis; when Redis is back
// the value is read again.
func TestOutage(t *testing.T) {
	rs := redistest.Start(t)
	opt, err := rueidis.ParseURL("unix://" + rs.Sock)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := rueidisstore.New(c, time.Hour)
	ctx := context.Background()
	if err := s.Put(ctx, "k", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the own-write window: Get caches
	for range 2 {                       // the second read comes from the cache
		if v, found, err := s.Get(ctx, "k"); err != nil || !found || string(v) != "v" {
			t.Fatalf("Get = %q, %v, %v", v, found, err)
		}
	}

	rs.Stop()
	start := time.Now()
	for {
		if _, _, err := s.Get(ctx, "k"); err != nil {
			break
		}
		if time.Since(start) > 2*rueidisstore.OpTimeout {
			t.Fatal("Redis down: Get still answers from the cache")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if d := time.Since(start); d > 2*rueidisstore.OpTimeout {
		t.Errorf("Redis down: Get failed only after %v", d)
	}

	rs.Start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v, found, err := s.Get(ctx, "k")
		if err == nil && found && string(v) == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Redis back: Get = %q, %v, %v", v, found, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
