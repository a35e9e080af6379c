package oidcmw_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// laggingStore models a store with a client-side cache (such as
// adapters/rueidisstore) at the moment another instance has just rewritten
// a session: once lag is called, Get answers for each session key the value
// it held when Get first read it afterwards, as a cache does until the
// invalidation arrives. GetFresh reads past it.
type laggingStore struct {
	*oidcmw.MemoryStore
	mu     sync.Mutex
	on     bool
	frozen map[string][]byte
}

func (s *laggingStore) lag() {
	s.mu.Lock()
	s.on = true
	s.mu.Unlock()
}

func (s *laggingStore) Get(ctx context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.frozen[key]; ok {
		return v, true, nil
	}
	v, found, err := s.MemoryStore.Get(ctx, key)
	if s.on && found && strings.HasPrefix(key, "oidcmw:s:") {
		s.frozen[key] = v
	}
	return v, found, err
}

func (s *laggingStore) GetFresh(ctx context.Context, key string) ([]byte, bool, error) {
	return s.MemoryStore.Get(ctx, key)
}

// TestRefreshReadsPastACache: with a store whose Get still answers the
// session as it was before a refresh, the next request at expiry rereads
// the session under the lease with GetFresh, sees the refreshed tokens and
// does not redeem the rotated refresh token again (which would end the
// session with invalid_grant); logout revokes the current refresh token,
// not the stale one.
func TestRefreshReadsPastACache(t *testing.T) {
	var store *laggingStore
	h := newHarness(t, setup{
		op: oidctest.Config{RotateRefreshTokens: true},
		opts: func(o *oidcmw.Options) {
			store = &laggingStore{MemoryStore: oidcmw.NewMemoryStore(o.Now), frozen: map[string][]byte{}}
			o.Store = store
			o.RevokeOnLogout = true
		},
	})
	h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
	who := whoami(h)
	h.login(h.browser, "/")
	h.clock.Advance(time.Hour - 30*time.Second) // inside the refresh margin
	store.lag()
	first := who() // refreshes; Get keeps answering the session before it
	if refreshGrants(h.op) != 1 {
		t.Fatalf("%d refresh grants, want 1", refreshGrants(h.op))
	}
	second := who() // the stale session needs a refresh; the fresh one does not
	if n := refreshGrants(h.op); n != 1 {
		t.Fatalf("%d refresh grants after a stale read, want 1", n)
	}
	if second.AccessToken != first.AccessToken {
		t.Error("the request after the refresh did not get the refreshed token")
	}

	do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Sec-Fetch-Site": "same-origin"}, nil)
	var revoked []string
	for _, r := range h.op.Requests() {
		if r.Path == "/revoke" {
			revoked = append(revoked, r.Form.Get("token"))
		}
	}
	if len(revoked) != 1 || revoked[0] != second.RefreshToken {
		t.Errorf("logout revoked %d tokens, the current one: %v", len(revoked), len(revoked) == 1 && revoked[0] == second.RefreshToken)
	}
}
