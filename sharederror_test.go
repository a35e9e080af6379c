package oidcmw_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
)

// heldDiscovery is a transport that holds discovery requests until
// released, then answers them 500; everything else goes through.
type heldDiscovery struct {
	release chan struct{}
	seen    atomic.Int32
}

func (h *heldDiscovery) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		return http.DefaultTransport.RoundTrip(r)
	}
	h.seen.Add(1)
	<-h.release
	return &http.Response{StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
		Body: http.NoBody, Header: http.Header{}, Request: r}, nil
}

// TestSharedDiscoveryFailure: one failed discovery is shared by every
// request waiting for it: guarded requests of a session that needs a
// refresh (on an instance that has not discovered the provider yet) and
// login starts. Each gets its own answer: 503 for the guarded requests
// (the session is fine, the provider is needed), 502 for the logins. The
// guard used to set a flag on the shared error value, a data race that
// -race reports and that turned other requests' 502 into 503.
func TestSharedDiscoveryFailure(t *testing.T) {
	h := newHarness(t, setup{})
	h.login(h.browser, "/")
	u, _ := url.Parse(h.app.URL)
	var cookie *http.Cookie
	for _, c := range h.browser.Jar.Cookies(u) {
		if c.Name == "oidcmw" {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("no session cookie")
	}
	h.clock.Advance(2 * time.Hour) // the access token expired: a refresh is needed

	// A second instance on the same store, whose discovery is held.
	held := &heldDiscovery{release: make(chan struct{})}
	opts := h.opts
	opts.HTTPClient = &http.Client{Transport: held, Timeout: 5 * time.Second}
	b, err := oidcmw.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	guarded := b.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	const n = 8
	var wg sync.WaitGroup
	var entered atomic.Int32
	statuses := make(chan [2]int, 2*n) // kind (0 guard, 1 login), status
	for i := range 2 * n {
		wg.Go(func() {
			w := httptest.NewRecorder()
			if i%2 == 0 {
				r := httptest.NewRequest(http.MethodGet, "/app", nil)
				r.Header.Set("Accept", "application/json")
				r.AddCookie(cookie)
				entered.Add(1)
				guarded.ServeHTTP(w, r)
				statuses <- [2]int{0, w.Code}
				return
			}
			entered.Add(1)
			b.Login(w, httptest.NewRequest(http.MethodGet, "/auth/login", nil))
			statuses <- [2]int{1, w.Code}
		})
	}
	// Release the discovery once every request is on its way to it (each
	// reads the store first, in memory).
	for entered.Load() < 2*n || held.seen.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	close(held.release)
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if want := [2]int{http.StatusServiceUnavailable, http.StatusBadGateway}[st[0]]; st[1] != want {
			t.Errorf("%s: %d, want %d", [2]string{"guarded request", "login"}[st[0]], st[1], want)
		}
	}
	if got := held.seen.Load(); got > 2 {
		t.Errorf("%d discovery requests for %d concurrent requests", got, 2*n)
	}
}
