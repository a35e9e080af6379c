package oidcmw_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
)

// TestMaxOpenLogins: anonymous requests cannot grow the store without
// bound. Beyond MaxOpenLogins logins within LoginTimeout, starting one
// answers 503 with Retry-After and stores nothing; once the oldest leave
// the window, logins start again. Signed-in users are not affected.
func TestMaxOpenLogins(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.MaxOpenLogins = 3 }})
	h.login(h.browser, "/") // one login: 2 left
	for i := range 2 {
		if resp, _ := do(t, h.newBrowser(), http.MethodGet, h.app.URL+"/auth/login", htmlAccept, nil); resp.StatusCode != http.StatusFound {
			t.Fatalf("login %d: %d", i, resp.StatusCode)
		}
	}
	before := h.store.Len()
	resp, _ := do(t, h.newBrowser(), http.MethodGet, h.app.URL+"/dashboard", htmlAccept, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !errors.Is(h.lastErr(), oidcmw.ErrTooManyLogins) {
		t.Fatalf("a login beyond the cap: %d %v", resp.StatusCode, h.lastErr())
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 || s > 11*60 {
		t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
	}
	if h.store.Len() != before {
		t.Errorf("the refused login stored something (%d entries, were %d)", h.store.Len(), before)
	}
	if resp, _ := h.navigate(h.browser, "/"); resp.StatusCode != http.StatusOK {
		t.Errorf("a signed-in user while the cap holds: %d", resp.StatusCode)
	}
	h.clock.Advance(10*time.Minute + 10*time.Second) // LoginTimeout and a bucket
	if resp, _ := do(t, h.newBrowser(), http.MethodGet, h.app.URL+"/auth/login", htmlAccept, nil); resp.StatusCode != http.StatusFound {
		t.Fatalf("after the window: %d", resp.StatusCode)
	}
}
