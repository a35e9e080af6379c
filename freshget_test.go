package oidcmw_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// laggingStore models a store with a client-side cache (such as
// adapters/rueidisstore) at the moment another instance has just changed a
// key: once lag is called, Get answers for each key starting with prefix
// the value it held when Get first read it afterwards, as a cache does
// until the invalidation arrives. GetFresh reads past it.
type laggingStore struct {
	*oidcmw.MemoryStore
	prefix string
	mu     sync.Mutex
	on     bool
	frozen map[string][]byte
}

func newLaggingStore(now func() time.Time, prefix string) *laggingStore {
	return &laggingStore{MemoryStore: oidcmw.NewMemoryStore(now), prefix: prefix, frozen: map[string][]byte{}}
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
	if s.on && found && strings.HasPrefix(key, s.prefix) {
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
			store = newLaggingStore(o.Now, "oidcmw:s:")
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

// TestLeaseReleasedWithoutRefresh: while another instance holds the
// refresh lease, a request waits for it; when that instance lets the lease
// go without a new token, the request notices at once (the lease is read
// past the store's cache) and is served with the session as it is, since
// its access token is still valid, instead of waiting out the lease's 15 s.
func TestLeaseReleasedWithoutRefresh(t *testing.T) {
	var store *laggingStore
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		store = newLaggingStore(o.Now, "oidcmw:lease:")
		o.Store = store
	}})
	h.login(h.browser, "/")
	var token string
	for _, c := range h.browser.Jar.Cookies(mustParse(t, h.app.URL)) {
		if c.Name == "oidcmw" {
			token = c.Value
		}
	}
	sum := sha256.Sum256([]byte(token))
	lease := "oidcmw:lease:oidcmw:s:" + base64.RawURLEncoding.EncodeToString(sum[:])
	ctx := context.Background()
	h.clock.Advance(time.Hour - 30*time.Second) // inside the refresh margin
	if added, err := store.Add(ctx, lease, []byte{1}, time.Minute); !added || err != nil {
		t.Fatalf("taking the lease as another instance: %v %v", added, err)
	}
	store.lag()
	time.AfterFunc(100*time.Millisecond, func() { store.Delete(ctx, lease) })
	start := time.Now()
	resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/api", jsonAccept, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("request while another instance held the lease: %d (%v)", resp.StatusCode, h.lastErr())
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the request noticed the released lease after %v", d)
	}
	if n := refreshGrants(h.op); n != 0 {
		t.Fatalf("%d refresh grants, want none (the other instance had the lease)", n)
	}
}
