package oidcmw_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
)

// dumpStore keeps a copy of everything written, like a dump of a shared
// store would.
type dumpStore struct {
	oidcmw.Store
	mu     sync.Mutex
	values [][]byte
}

func (s *dumpStore) Put(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	s.mu.Lock()
	s.values = append(s.values, bytes.Clone(v))
	s.mu.Unlock()
	return s.Store.Put(ctx, k, v, ttl)
}

func (s *dumpStore) contains(secret string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.values {
		if bytes.Contains(v, []byte(secret)) {
			return true
		}
	}
	return false
}

var (
	oldKey = []byte(strings.Repeat("o", 32))
	newKey = []byte(strings.Repeat("n", 32))
)

func TestSealedRecords(t *testing.T) {
	for _, sealed := range []bool{false, true} {
		dump := &dumpStore{}
		h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
			dump.Store = o.Store
			o.Store = dump
			if sealed {
				o.SecretKeys = [][]byte{oldKey}
			}
		}})
		var id *oidcmw.Identity
		h.app.Config.Handler.(*http.ServeMux).Handle("/whoami", h.m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, _ = oidcmw.FromContext(r.Context())
		})))
		h.login(h.browser, "/")
		h.navigate(h.browser, "/whoami")
		if id == nil {
			t.Fatal("no identity")
		}
		for _, secret := range []string{id.AccessToken, id.RefreshToken, id.IDToken} {
			if got := dump.contains(secret); got == sealed {
				t.Errorf("sealed=%v: token in the store dump: %v", sealed, got)
			}
		}
	}
}

func TestSecretKeyRotation(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.SecretKeys = [][]byte{oldKey} }})
	h.login(h.browser, "/")
	// status is what a guard with these keys, sharing the store, answers
	// for the browser's session.
	status := func(path string, keys ...[]byte) int {
		opts := h.opts
		opts.SecretKeys = keys
		m, err := oidcmw.New(opts)
		if err != nil {
			t.Fatal(err)
		}
		h.app.Config.Handler.(*http.ServeMux).Handle(path, m.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
		resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+path, map[string]string{"Accept": "application/json"}, nil)
		return resp.StatusCode
	}
	if s := status("/rotated", newKey, oldKey); s != 200 {
		t.Errorf("new key first, old key still listed: %d, want 200", s)
	}
	if s := status("/removed", newKey); s != 401 {
		t.Errorf("old key removed: %d, want 401 (signed out)", s)
	}
	if _, err := oidcmw.New(oidcmw.Options{Issuer: h.op.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/cb",
		SecretKeys: [][]byte{[]byte("short")}}); err == nil {
		t.Error("a 5-byte secret key was accepted")
	}
}
