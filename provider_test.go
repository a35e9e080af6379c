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

func TestKeyRotationIsFollowed(t *testing.T) {
	h := newHarness(t, setup{})
	h.login(h.browser, "/")
	h.op.RotateKey()
	h.login(h.newBrowser(), "/") // unknown kid: the JWKS is fetched again at once
	if n := h.op.Count("/jwks"); n != 2 {
		t.Errorf("JWKS fetched %d times, want 2", n)
	}
	h.clock.Advance(10 * time.Second)
	h.op.RotateKey()
	h.login(h.newBrowser(), "/")
}

// TestUnknownKidRefetchIsThrottled: tokens signed by a key the provider
// does not publish cost one JWKS refetch per interval, not one per token.
func TestUnknownKidRefetchIsThrottled(t *testing.T) {
	h := newHarness(t, setup{})
	h.login(h.browser, "/") // warm: discovery and JWKS loaded
	h.op.Misbehave(oidctest.UnrelatedKey)
	attempt := func() {
		t.Helper()
		c := h.newBrowser()
		resp, _ := h.callback(c, h.authorize(c, h.startLogin(c, "/")))
		if resp.StatusCode != 401 {
			t.Fatalf("token from an unrelated key: %d", resp.StatusCode)
		}
	}
	for range 5 {
		attempt()
	}
	if n := h.op.Count("/jwks"); n != 2 {
		t.Errorf("JWKS fetched %d times for 5 unknown kids, want 2", n)
	}
	h.clock.Advance(6 * time.Second)
	attempt()
	if n := h.op.Count("/jwks"); n != 3 {
		t.Errorf("JWKS fetched %d times after the interval, want 3", n)
	}
}

func TestProviderFailures(t *testing.T) {
	cases := []struct {
		name   string
		behave oidctest.Behavior
		status int
	}{
		{"discovery 500", oidctest.DiscoveryDown, 502},
		{"discovery hangs", oidctest.DiscoveryHang, 504},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
				o.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond}
			}})
			h.op.Misbehave(tc.behave)
			resp, body := h.navigate(h.browser, "/")
			if resp.StatusCode != tc.status || !errors.Is(h.lastErr(), oidcmw.ErrProviderUnavailable) {
				t.Fatalf("%d %v", resp.StatusCode, h.lastErr())
			}
			if strings.Contains(body, h.op.URL) {
				t.Error("error page names the provider URL")
			}
			// Not cached: once the provider recovers, logins work.
			h.op.Misbehave()
			h.login(h.browser, "/")
		})
	}
}

func TestProviderDown(t *testing.T) {
	h := newHarness(t, setup{})
	h.op.Close()
	resp, _ := h.navigate(h.browser, "/")
	if resp.StatusCode != 502 || !errors.Is(h.lastErr(), oidcmw.ErrProviderUnavailable) {
		t.Fatalf("%d %v", resp.StatusCode, h.lastErr())
	}
}

// failingStore fails every operation after fail is set: a store outage.
type failingStore struct {
	oidcmw.Store
	mu   sync.Mutex
	fail bool
}

var errOutage = errors.New("store outage")

func (s *failingStore) broken() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fail
}

func (s *failingStore) Put(ctx context.Context, k string, v []byte, ttl time.Duration) error {
	if s.broken() {
		return errOutage
	}
	return s.Store.Put(ctx, k, v, ttl)
}

func (s *failingStore) Get(ctx context.Context, k string) ([]byte, bool, error) {
	if s.broken() {
		return nil, false, errOutage
	}
	return s.Store.Get(ctx, k)
}

func (s *failingStore) Take(ctx context.Context, k string) ([]byte, bool, error) {
	if s.broken() {
		return nil, false, errOutage
	}
	return s.Store.Take(ctx, k)
}

func TestStoreOutageFailsClosed(t *testing.T) {
	fs := &failingStore{}
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		fs.Store = o.Store
		o.Store = fs
	}})
	h.login(h.browser, "/")
	cb := h.authorize(h.browser, h.startLogin(h.newBrowser(), "/"))
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	for name, get := range map[string]func() *http.Response{
		"guard":    func() *http.Response { r, _ := h.navigate(h.browser, "/"); return r },
		"login":    func() *http.Response { r, _ := h.navigate(h.newBrowser(), "/auth/login"); return r },
		"callback": func() *http.Response { r, _ := h.callback(h.browser, cb); return r },
	} {
		if resp := get(); resp.StatusCode != 503 || !errors.Is(h.lastErr(), oidcmw.ErrStoreUnavailable) {
			t.Errorf("%s during a store outage: %d %v", name, resp.StatusCode, h.lastErr())
		}
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	if !h.signedIn(h.browser) {
		t.Error("session lost after the store came back")
	}
}

func TestNewValidates(t *testing.T) {
	ok := oidcmw.Options{Issuer: "https://op.example", ClientID: "c", RedirectURL: "https://app.example/cb"}
	cases := map[string]func(o *oidcmw.Options){
		"missing client id":           func(o *oidcmw.Options) { o.ClientID = "" },
		"missing issuer":              func(o *oidcmw.Options) { o.Issuer = "" },
		"relative issuer":             func(o *oidcmw.Options) { o.Issuer = "/op" },
		"issuer with fragment":        func(o *oidcmw.Options) { o.Issuer = "https://op.example#x" },
		"bad redirect URL":            func(o *oidcmw.Options) { o.RedirectURL = "://" },
		"http redirect on a LAN host": func(o *oidcmw.Options) { o.RedirectURL = "http://app.example/cb" },
		"http issuer on a LAN host":   func(o *oidcmw.Options) { o.Issuer = "http://op.example" },
		"unknown response mode":       func(o *oidcmw.Options) { o.ResponseMode = "fragment" },
		"negative skew":               func(o *oidcmw.Options) { o.ClockSkew = -time.Second },
		"reserved auth param":         func(o *oidcmw.Options) { o.AuthParams = map[string][]string{"state": {"x"}} },
		"reserved token param":        func(o *oidcmw.Options) { o.TokenParams = map[string][]string{"code_verifier": {"x"}} },
		"bad cookie name":             func(o *oidcmw.Options) { o.CookieName = "a;b" },
		"basic auth without secret":   func(o *oidcmw.Options) { o.ClientAuthMethod = "client_secret_basic" },
		"none with a secret":          func(o *oidcmw.Options) { o.ClientAuthMethod, o.ClientSecret = "none", "s" },
		"unknown auth method":         func(o *oidcmw.Options) { o.ClientAuthMethod, o.ClientSecret = "private_key_jwt", "s" },
		"relative post-logout URL":    func(o *oidcmw.Options) { o.PostLogoutRedirectURL = "/bye" },
	}
	for name, mutate := range cases {
		o := ok
		mutate(&o)
		if _, err := oidcmw.New(o); err == nil || !strings.HasPrefix(err.Error(), "oidcmw: ") {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	for name, mutate := range map[string]func(o *oidcmw.Options){
		"defaults":                 func(o *oidcmw.Options) {},
		"http on loopback":         func(o *oidcmw.Options) { o.RedirectURL, o.Issuer = "http://127.0.0.1:8080/cb", "http://localhost:9000" },
		"http allowed on purpose":  func(o *oidcmw.Options) { o.RedirectURL, o.InsecureAllowHTTP = "http://app.example/cb", true },
		"issuer with slash at end": func(o *oidcmw.Options) { o.Issuer = "https://op.example/" },
	} {
		o := ok
		mutate(&o)
		if _, err := oidcmw.New(o); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNewDoesNoIO: New against an address nobody listens on succeeds.
func TestNewDoesNoIO(t *testing.T) {
	if _, err := oidcmw.New(oidcmw.Options{Issuer: "http://127.0.0.1:1", ClientID: "c", RedirectURL: "http://127.0.0.1:2/cb"}); err != nil {
		t.Fatal(err)
	}
}

// TestJWKSFailureIsNotCached: a JWKS outage fails the login with 502, and
// the next login after the provider recovers succeeds.
func TestJWKSFailureIsNotCached(t *testing.T) {
	h := newHarness(t, setup{})
	authURL := h.startLogin(h.browser, "/")
	h.op.Misbehave(oidctest.JWKSDown)
	if resp, _ := h.callback(h.browser, h.authorize(h.browser, authURL)); resp.StatusCode != 502 {
		t.Fatalf("JWKS down: %d", resp.StatusCode)
	}
	h.op.Misbehave()
	h.login(h.browser, "/")
}

func TestDiscover(t *testing.T) {
	h := newHarness(t, setup{})
	if err := h.m.Discover(context.Background()); err != nil {
		t.Fatalf("Discover: %v", err)
	}
	if h.op.Count("/jwks") != 1 {
		t.Error("Discover did not load the keys")
	}
	// A configuration error is told from an outage.
	for _, tc := range []struct {
		behave oidctest.Behavior
		want   error
	}{
		{oidctest.DiscoveryIssuerMismatch, oidcmw.ErrProviderMisconfigured},
		{oidctest.DiscoveryDown, oidcmw.ErrProviderUnavailable},
		{oidctest.JWKSDown, oidcmw.ErrProviderUnavailable},
	} {
		h2 := newHarness(t, setup{})
		h2.op.Misbehave(tc.behave)
		err := h2.m.Discover(context.Background())
		other := map[error]error{oidcmw.ErrProviderMisconfigured: oidcmw.ErrProviderUnavailable,
			oidcmw.ErrProviderUnavailable: oidcmw.ErrProviderMisconfigured}[tc.want]
		if !errors.Is(err, tc.want) || errors.Is(err, other) {
			t.Errorf("Discover with %s: %v, want only %v", tc.behave, err, tc.want)
		}
		// Starting a login needs discovery, not the keys.
		if resp, _ := h2.navigate(h2.browser, "/"); tc.behave != oidctest.JWKSDown && resp.StatusCode != http.StatusBadGateway {
			t.Errorf("%s: a guarded request got %d, want 502", tc.behave, resp.StatusCode)
		}
		// Retried: once the provider is fixed, Discover succeeds.
		h2.op.Misbehave()
		if err := h2.m.Discover(context.Background()); err != nil {
			t.Errorf("%s, then fixed: Discover: %v", tc.behave, err)
		}
	}
	// Options.Issuer that names no provider: 404 at discovery.
	h3 := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.Issuer += "/no-such-tenant" }})
	if err := h3.m.Discover(context.Background()); !errors.Is(err, oidcmw.ErrProviderMisconfigured) {
		t.Errorf("Discover of an issuer that answers 404: %v", err)
	}
}
