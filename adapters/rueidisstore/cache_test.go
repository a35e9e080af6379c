package rueidisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/oidcmw/oidcmw/adapters/rueidisstore"
	"github.com/oidcmw/oidcmw/internal/redistest"
)

// TestGetIsCached: once a key is in the client-side cache (a second after
// this Store wrote it), further Gets do not reach the server. Counted on a
// private server, which no other test uses.
func TestGetIsCached(t *testing.T) {
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
	time.Sleep(1100 * time.Millisecond) // past the own-write window
	gets := func() int {
		info, err := c.Do(ctx, c.B().Info().Section("commandstats").Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(info, "\r\n") {
			if rest, ok := strings.CutPrefix(line, "cmdstat_get:calls="); ok {
				n, _ := strconv.Atoi(rest[:strings.IndexByte(rest, ',')])
				return n
			}
		}
		return 0
	}
	before := gets()
	for range 10 {
		if v, found, err := s.Get(ctx, "k"); err != nil || !found || string(v) != "v" {
			t.Fatalf("Get = %q, %v, %v", v, found, err)
		}
	}
	if n := gets() - before; n > 1 {
		t.Fatalf("10 Gets of an unchanged key reached the server %d times, want at most 1", n)
	}
}
