package oidcmw_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

var jsonAccept = map[string]string{"Accept": "application/json"}

// refreshGrants counts the refresh_token grants the OP received.
func refreshGrants(op *oidctest.Server) int {
	n := 0
	for _, r := range op.Requests() {
		if r.Path == "/token" && r.Form.Get("grant_type") == "refresh_token" {
			n++
		}
	}
	return n
}

// whoami mounts a guarded route that reports the request's identity.
func whoami(h *harness) func() *oidcmw.Identity {
	var mu sync.Mutex
	var last *oidcmw.Identity
	h.app.Config.Handler.(*http.ServeMux).Handle("/whoami", h.m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		mu.Lock()
		last = id
		mu.Unlock()
	})))
	return func() *oidcmw.Identity {
		resp, _ := do(h.t, h.browser, http.MethodGet, h.app.URL+"/whoami", jsonAccept, nil)
		if resp.StatusCode != http.StatusOK {
			h.t.Fatalf("/whoami: %d (%v)", resp.StatusCode, h.lastErr())
		}
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	h := newHarness(t, setup{})
	who := whoami(h)
	h.login(h.browser, "/")
	first := who()
	h.clock.Advance(58 * time.Minute) // 2 minutes left: no refresh yet
	if who().AccessToken != first.AccessToken || refreshGrants(h.op) != 0 {
		t.Fatal("refreshed outside the margin")
	}
	h.clock.Advance(90 * time.Second) // 30 s left, inside the 1 minute margin
	second := who()
	if second.AccessToken == first.AccessToken || refreshGrants(h.op) != 1 {
		t.Fatalf("no refresh inside the margin (%d grants)", refreshGrants(h.op))
	}
	if want := h.clock.Now().Add(time.Hour); !second.Expiry.Equal(want) {
		t.Errorf("refreshed expiry %v, want %v", second.Expiry, want)
	}
	if second.Subject != "alice" || second.IDToken == "" {
		t.Errorf("refreshed identity %+v", second)
	}
	if who().AccessToken != second.AccessToken || refreshGrants(h.op) != 1 {
		t.Error("the refreshed token was not kept")
	}
}

// TestConcurrentRefreshIsShared: 50 requests of one session at expiry cause
// exactly one refresh grant, and all of them get the new token.
func TestConcurrentRefreshIsShared(t *testing.T) {
	h := newHarness(t, setup{})
	who := whoami(h)
	h.login(h.browser, "/")
	old := who().AccessToken
	h.clock.Advance(time.Hour - 10*time.Second)
	var wg sync.WaitGroup
	tokens := make(chan string, 50)
	for range 50 {
		wg.Go(func() { tokens <- who().AccessToken })
	}
	wg.Wait()
	close(tokens)
	for tok := range tokens {
		if tok == old {
			t.Error("a request got the old access token")
		}
	}
	if n := refreshGrants(h.op); n != 1 {
		t.Fatalf("%d refresh grants for 50 concurrent requests, want 1", n)
	}
}

// TestRefreshOutage: while the access token is valid, an outage at the
// token endpoint is ridden out; after it expires, API calls get 503 and the
// session survives for when the provider is back.
func TestRefreshOutage(t *testing.T) {
	h := newHarness(t, setup{})
	who := whoami(h)
	h.login(h.browser, "/")
	old := who().AccessToken
	h.op.Misbehave(oidctest.TokenServerError)
	h.clock.Advance(time.Hour - 30*time.Second)
	if who().AccessToken != old {
		t.Fatal("token changed during an outage")
	}
	h.clock.Advance(time.Minute) // expired now
	resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/whoami", jsonAccept, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !errors.Is(h.lastErr(), oidcmw.ErrProviderUnavailable) {
		t.Fatalf("expired token during an outage: %d %v", resp.StatusCode, h.lastErr())
	}
	h.op.Misbehave()
	if who().AccessToken == old {
		t.Fatal("no refresh after the outage")
	}
}

func TestIdleAndAbsoluteTimeouts(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.IdleTimeout, o.AbsoluteTimeout = time.Hour, 3*time.Hour
	}})
	h.login(h.browser, "/")
	// Used every 50 minutes, the session outlives its idle timeout...
	for range 3 {
		h.clock.Advance(50 * time.Minute)
		if !h.signedIn(h.browser) {
			t.Fatalf("session ended while in use at %v", h.clock.Now())
		}
	}
	// ...but not its absolute timeout.
	h.clock.Advance(40 * time.Minute)
	if h.signedIn(h.browser) {
		t.Fatal("session outlived its absolute timeout")
	}

	h.login(h.browser, "/")
	h.clock.Advance(61 * time.Minute)
	if h.signedIn(h.browser) {
		t.Fatal("session outlived its idle timeout")
	}
}

func TestSessionExpiryInIdentity(t *testing.T) {
	h := newHarness(t, setup{})
	who := whoami(h)
	h.login(h.browser, "/")
	if got, want := who().SessionExpiry, h.clock.Now().Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("SessionExpiry %v, want %v", got, want)
	}
}

func TestStepUpMaxAge(t *testing.T) {
	h := newHarness(t, setup{})
	mux := h.app.Config.Handler.(*http.ServeMux)
	mux.Handle("/admin", h.m.Require(oidcmw.Requirement{MaxAge: time.Hour})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("admin"))
	})))
	h.login(h.browser, "/")
	if _, body := h.navigate(h.browser, "/admin"); body != "admin" {
		t.Fatalf("fresh login: %q", body)
	}
	h.clock.Advance(2 * time.Hour)
	// API: RFC 9470 challenge, no redirect.
	resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/admin", jsonAccept, nil)
	if wa := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 ||
		!strings.Contains(wa, `error="insufficient_user_authentication"`) || !strings.Contains(wa, "max_age=3600") {
		t.Fatalf("API step-up: %d %q", resp.StatusCode, wa)
	}
	// Browser: a new login asking for max_age, back to /admin.
	authURL := h.startLogin(h.browser, "/admin")
	if mustParse(t, authURL).Query().Get("max_age") != "3600" {
		t.Fatalf("step-up login without max_age: %s", authURL)
	}
	resp, _ = h.callback(h.browser, h.authorize(h.browser, authURL))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin" {
		t.Fatalf("step-up callback: %d %v", resp.StatusCode, h.lastErr())
	}
	if _, body := h.navigate(h.browser, "/admin"); body != "admin" {
		t.Fatalf("after step-up: %q", body)
	}
}

// TestAfterLogin: the hook runs only after every check passed; its error
// refuses the login with 403 and no session.
func TestAfterLogin(t *testing.T) {
	var calls []string
	errNotAllowed := errors.New("not on the list")
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.AfterLogin = func(ctx context.Context, id *oidcmw.Identity) error {
			calls = append(calls, id.Subject)
			if id.Subject != "alice" {
				return errNotAllowed
			}
			return nil
		}
	}})
	h.login(h.browser, "/")

	h.op.SetUser(oidctest.User{Subject: "mallory"})
	c := h.newBrowser()
	resp, _ := h.callback(c, h.authorize(c, h.startLogin(c, "/")))
	if resp.StatusCode != http.StatusForbidden || !errors.Is(h.lastErr(), oidcmw.ErrLoginRefused) || !errors.Is(h.lastErr(), errNotAllowed) {
		t.Fatalf("refused login: %d %v", resp.StatusCode, h.lastErr())
	}
	if h.signedIn(c) {
		t.Fatal("refused login got a session")
	}

	// A failed check never reaches the hook (RFC 9700 §4.5.3.2).
	c = h.newBrowser()
	authURL := h.startLogin(c, "/")
	h.op.Misbehave(oidctest.WrongNonce)
	h.callback(c, h.authorize(c, authURL))
	if len(calls) != 2 {
		t.Fatalf("hook calls %v, want [alice mallory]", calls)
	}
}

func TestLoginParams(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.LoginParams = []string{"login_hint", "prompt"} }})
	resp, _ := do(t, h.browser, http.MethodGet,
		h.app.URL+"/auth/login?login_hint=bob%40example.com&prompt=login&acr_values=evil&ui_locales=fr", htmlAccept, nil)
	q := mustParse(t, resp.Header.Get("Location")).Query()
	if q.Get("login_hint") != "bob@example.com" || q.Get("prompt") != "login" || q.Has("acr_values") || q.Has("ui_locales") {
		t.Errorf("authorization request %v", q)
	}
	for _, bad := range []string{"bob%0d%0aSet-Cookie:x", strings.Repeat("b", 257)} {
		resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/auth/login?login_hint="+bad, htmlAccept, nil)
		if q := mustParse(t, resp.Header.Get("Location")).Query(); q.Has("login_hint") {
			t.Errorf("login_hint %.20q passed on", q.Get("login_hint"))
		}
	}
	if _, err := oidcmw.New(oidcmw.Options{Issuer: h.op.URL, ClientID: "c", RedirectURL: "http://127.0.0.1/cb",
		LoginParams: []string{"redirect_uri"}}); err == nil {
		t.Error("LoginParams may pass redirect_uri")
	}
}

func TestOfflineAccessAsksConsent(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.Scopes = []string{"openid", "offline_access"} }})
	q := mustParse(t, h.startLogin(h.browser, "/")).Query()
	if q.Get("prompt") != "consent" || !strings.Contains(q.Get("scope"), "offline_access") {
		t.Errorf("authorization request %v", q)
	}
}

// lateStore keeps entries far longer than asked, like a store that evicts
// late (scs backends judge expiry by their own clock, Redis by its own).
type lateStore struct{ oidcmw.Store }

func (s lateStore) Put(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	return s.Store.Put(ctx, k, v, 1000*ttl)
}

// TestTimeoutsDoNotDependOnStoreEviction: the middleware checks a
// session's end itself.
func TestTimeoutsDoNotDependOnStoreEviction(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.Store = lateStore{o.Store}
		o.IdleTimeout = time.Hour
	}})
	h.login(h.browser, "/")
	h.clock.Advance(61 * time.Minute)
	if h.signedIn(h.browser) {
		t.Fatal("an idle session lived on because the store kept it")
	}
}

// TestRefreshAcrossInstances: two instances share the store; requests on
// both at expiry cause one refresh grant (a lease in the store), and the
// session keeps the newest rotated refresh token, so the next refresh works.
func TestRefreshAcrossInstances(t *testing.T) {
	h := newHarness(t, setup{op: oidctest.Config{RotateRefreshTokens: true}})
	secondInstance(t, h) // /b/ is guarded by another Middleware on the same store
	h.login(h.browser, "/")
	h.clock.Advance(time.Hour - 10*time.Second)
	var wg sync.WaitGroup
	for i := range 40 {
		path := "/api"
		if i%2 == 1 {
			path = "/b/api"
		}
		wg.Go(func() {
			resp, err := h.browser.Do(mustRequest(t, h.app.URL+path))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	if n := refreshGrants(h.op); n != 1 {
		t.Fatalf("%d refresh grants across two instances, want 1", n)
	}
	h.clock.Advance(time.Hour)
	if !h.signedIn(h.browser) || refreshGrants(h.op) != 2 {
		t.Fatal("the second refresh failed: the session kept an old refresh token")
	}
}

func mustRequest(t *testing.T, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	return req
}
