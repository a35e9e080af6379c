package oidcmw_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
)

// leaseRecorder is a store that records the TTL of every lease it is
// asked to add.
type leaseRecorder struct {
	oidcmw.Store
	mu   sync.Mutex
	ttls []time.Duration
}

func (s *leaseRecorder) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if strings.HasPrefix(key, "oidcmw:lease:") {
		s.mu.Lock()
		s.ttls = append(s.ttls, ttl)
		s.mu.Unlock()
	}
	return s.Store.Add(ctx, key, value, ttl)
}

// TestRefreshLeaseOutlastsTheRefresh: the refresh lease outlasts the up to
// three requests of a refresh (the grant, its DPoP nonce retry, UserInfo),
// each bounded by the HTTP client's timeout.
func TestRefreshLeaseOutlastsTheRefresh(t *testing.T) {
	rec := &leaseRecorder{}
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		rec.Store = o.Store
		o.Store = rec
		o.HTTPClient = &http.Client{Timeout: 20 * time.Second}
	}})
	h.login(h.browser, "/")
	h.clock.Advance(time.Hour - 30*time.Second) // inside the refresh margin
	if resp, _ := h.navigate(h.browser, "/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("%d", resp.StatusCode)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.ttls) == 0 {
		t.Fatal("no refresh lease taken")
	}
	for _, ttl := range rec.ttls {
		if ttl < 3*20*time.Second {
			t.Errorf("lease of %v for a client timeout of 20 s", ttl)
		}
	}
}
