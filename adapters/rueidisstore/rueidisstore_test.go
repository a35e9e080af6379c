package rueidisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/rueidisstore"
	"github.com/oidcmw/oidcmw/internal/redistest"
	"github.com/oidcmw/oidcmw/internal/storetest"
)

var (
	_ oidcmw.Store       = (*rueidisstore.Store)(nil)
	_ oidcmw.FreshGetter = (*rueidisstore.Store)(nil)
)

// client connects to the Redis named by OIDCMW_TEST_REDIS_URL (see
// redistest.URL), with client-side caching on and rueidis's default of
// several connections.
func client(t testing.TB) rueidis.Client {
	t.Helper()
	u := redistest.URL(t)
	opt, err := rueidis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("redis at %s: %v", u, err)
	}
	t.Cleanup(c.Close)
	return c
}

func TestConformance(t *testing.T) {
	c := client(t)
	storetest.Run(t, func() oidcmw.Store { return rueidisstore.New(c, 0) })
}

// TestReadsOwnWrites: a Get right after this Store's own Put, Take or
// Delete never answers the value the cache held before. rueidis alone
// gives stale reads here (the server's invalidation can arrive after the
// write's reply, and writes go out on any of its connections).
func TestReadsOwnWrites(t *testing.T) {
	ctx := context.Background()
	s := rueidisstore.New(client(t), time.Hour)
	prefix := fmt.Sprintf("rueidisstore-test:%d:", time.Now().UnixNano())
	for i := range 2000 {
		k := prefix + fmt.Sprint(i%50)
		if err := s.Put(ctx, k, []byte("a"), time.Minute); err != nil {
			t.Fatal(err)
		}
		s.Get(ctx, k) // cached (or not: within a second of the Put)
		if err := s.Put(ctx, k, []byte("b"), time.Minute); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := s.Get(ctx, k); string(v) != "b" {
			t.Fatalf("Get after Put = %q, want b", v)
		}
		if _, found, _ := s.Take(ctx, k); !found {
			t.Fatal("Take found nothing")
		}
		if _, found, _ := s.Get(ctx, k); found {
			t.Fatal("Get after Take found the value")
		}
	}
}

// TestInvalidation: a value one Store has cached is gone, or replaced, for
// it soon after another Store (another instance) deletes or rewrites it,
// and GetFresh sees the change at once.
func TestInvalidation(t *testing.T) {
	ctx := context.Background()
	a := rueidisstore.New(client(t), time.Hour)
	b := rueidisstore.New(client(t), time.Hour)
	key := fmt.Sprintf("rueidisstore-test:%d", time.Now().UnixNano())
	t.Cleanup(func() { _ = b.Delete(ctx, key) })

	if err := b.Put(ctx, key, []byte("v1"), time.Hour); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second read comes from a's cache
		if v, found, err := a.Get(ctx, key); err != nil || !found || string(v) != "v1" {
			t.Fatalf("a.Get = %q, %v, %v; want v1", v, found, err)
		}
	}
	eventually := func(what, want string) {
		t.Helper()
		if v, found, err := a.GetFresh(ctx, key); err != nil || found != (want != "") || string(v) != want {
			t.Fatalf("%s: a.GetFresh = %q, %v, %v; want %q", what, v, found, err, want)
		}
		start := time.Now()
		for time.Since(start) < time.Second {
			v, found, err := a.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if (want == "" && !found) || (found && string(v) == want) {
				t.Logf("%s: a's cache learnt it after %v", what, time.Since(start))
				return
			}
			time.Sleep(100 * time.Microsecond)
		}
		t.Fatalf("%s: a still reads the cached value after 1 s", what)
	}
	if err := b.Put(ctx, key, []byte("v2"), time.Hour); err != nil {
		t.Fatal(err)
	}
	eventually("rewritten by b", "v2")
	if err := b.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	eventually("deleted by b", "")
}

// TestInstances: two app instances, each with its own client and cache,
// sharing one Redis (see storetest.RunInstances). A logout on one instance
// reaches the other's cache as a push message; 50 ms is far more than that
// takes.
func TestInstances(t *testing.T) {
	storetest.RunInstances(t, func(t *testing.T) oidcmw.Store { return rueidisstore.New(client(t), 0) }, 50*time.Millisecond)
}

func TestOutageIsAnError(t *testing.T) {
	if _, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{"127.0.0.1:1"}}); err == nil {
		t.Fatal("a client for no server was made without an error")
	}
}
