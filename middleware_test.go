package oidcmw_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

func TestLoginFlow(t *testing.T) {
	h := newHarness(t, setup{})
	authURL := h.startLogin(h.browser, "/dashboard?tab=1")

	// The authorization request: code flow, PKCE S256, fresh state and nonce.
	q := mustParse(t, authURL).Query()
	for k, want := range map[string]string{
		"response_type": "code", "client_id": oidctest.DefaultClientID,
		"redirect_uri": h.opts.RedirectURL, "code_challenge_method": "S256",
		"scope": "openid profile email",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 { // at least 128 bits
			t.Errorf("authorization request %s = %q: too short", k, q.Get(k))
		}
	}

	cb := h.authorize(h.browser, authURL)
	resp, body := h.callback(h.browser, cb)
	if resp.StatusCode != http.StatusSeeOther || body != "" {
		t.Fatalf("callback: %d %q, want 303 with no body", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Location"); got != "/dashboard?tab=1" {
		t.Errorf("callback Location %q", got)
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("callback %s = %q, want %q", k, got, want)
		}
	}

	// The token request: the code with the PKCE verifier, the exact
	// redirect_uri, client_secret_basic.
	var tokenReq *oidctest.Request
	for _, r := range h.op.Requests() {
		if r.Path == "/token" {
			tokenReq = &r
		}
	}
	if tokenReq == nil {
		t.Fatal("no token request")
	}
	if tokenReq.Form.Get("code_verifier") == "" || tokenReq.Form.Get("redirect_uri") != h.opts.RedirectURL ||
		tokenReq.Form.Get("grant_type") != "authorization_code" {
		t.Errorf("token request form %v", tokenReq.Form)
	}
	if !strings.HasPrefix(tokenReq.Header.Get("Authorization"), "Basic ") || tokenReq.Form.Has("client_secret") {
		t.Errorf("token request does not use client_secret_basic")
	}

	// The session cookie: opaque, HttpOnly, SameSite=Lax; no token in it.
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "oidcmw" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || len(session.Value) > 32 {
		t.Fatalf("session cookie %+v", session)
	}
	resp, body = h.navigate(h.browser, "/dashboard")
	if resp.StatusCode != 200 || body != "hello alice" {
		t.Fatalf("guarded page: %d %q", resp.StatusCode, body)
	}
	if strings.Contains(h.logs.String(), "eyJ") {
		t.Errorf("a JWT reached the log: %s", h.logs.String())
	}
}

func TestIdentityInContext(t *testing.T) {
	h := newHarness(t, setup{})
	var got *oidcmw.Identity
	h.app.Config.Handler.(*http.ServeMux).Handle("/whoami", h.m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = oidcmw.FromContext(r.Context())
	})))
	h.login(h.browser, "/dashboard")
	h.navigate(h.browser, "/whoami")
	if got == nil {
		t.Fatal("no identity in context")
	}
	var c struct {
		Email string `json:"email"`
		Sub   string `json:"sub"`
	}
	if err := got.Claims(&c); err != nil || c.Email != "alice@example.com" || c.Sub != "alice" {
		t.Errorf("claims %+v, %v", c, err)
	}
	if got.Subject != "alice" || got.Issuer != h.op.URL || got.AccessToken == "" || got.IDToken == "" ||
		got.RefreshToken == "" || !strings.EqualFold(got.TokenType, "bearer") {
		t.Errorf("identity %+v", got)
	}
	if want := h.clock.Now().Add(time.Hour); !got.Expiry.Equal(want) {
		t.Errorf("expiry %v, want %v", got.Expiry, want)
	}
	if _, ok := oidcmw.FromContext(context.Background()); ok {
		t.Error("FromContext without identity reported ok")
	}
}

func TestGuardAPICallsGet401(t *testing.T) {
	h := newHarness(t, setup{})
	cases := []struct {
		name   string
		method string
		hdr    map[string]string
	}{
		{"JSON accept", "GET", map[string]string{"Accept": "application/json"}},
		{"no accept", "GET", nil},
		{"fetch", "GET", map[string]string{"Accept": "text/html", "Sec-Fetch-Mode": "cors"}},
		{"XHR", "GET", map[string]string{"Accept": "text/html", "X-Requested-With": "XMLHttpRequest"}},
		{"POST", "POST", htmlAccept},
		{"DELETE", "DELETE", htmlAccept},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := do(t, h.browser, tc.method, h.app.URL+"/api/x", tc.hdr, nil)
			if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || resp.Header.Get("Location") != "" {
				t.Errorf("%d, WWW-Authenticate %q, Location %q", resp.StatusCode,
					resp.Header.Get("WWW-Authenticate"), resp.Header.Get("Location"))
			}
		})
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("protected handler ran %d times", n)
	}
	if n := h.op.Count("/token"); n != 0 {
		t.Errorf("token endpoint hit %d times", n)
	}
}

func TestGuardStartingLoginNeverCallsHandler(t *testing.T) {
	h := newHarness(t, setup{})
	resp, body := h.navigate(h.browser, "/secret")
	if resp.StatusCode != http.StatusFound || strings.Contains(body, "hello") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	if h.calls.Load() != 0 {
		t.Fatal("protected handler ran while the guard started a login")
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("login redirect is cacheable")
	}
}

func TestTwoTabs(t *testing.T) {
	h := newHarness(t, setup{})
	a := h.authorize(h.browser, h.startLogin(h.browser, "/a"))
	b := h.authorize(h.browser, h.startLogin(h.browser, "/b"))
	for _, tc := range []struct{ cb, want string }{{b, "/b"}, {a, "/a"}} {
		resp, _ := h.callback(h.browser, tc.cb)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.want {
			t.Fatalf("callback for %s: %d %q (%v)", tc.want, resp.StatusCode, resp.Header.Get("Location"), h.lastErr())
		}
	}
	if !h.signedIn(h.browser) {
		t.Fatal("not signed in")
	}
}

// TestTwoTabsStartingTogether: the first two logins of a browser start at
// the same moment (a restored session), so neither request carries a login
// cookie. Both callbacks must still succeed.
func TestTwoTabsStartingTogether(t *testing.T) {
	h := newHarness(t, setup{})
	bare := h.newBrowser() // no jar: the two requests carry no cookie
	bare.Jar = nil
	var authURLs []string
	for _, path := range []string{"/tab1", "/tab2"} {
		resp, _ := h.navigate(bare, path)
		h.browser.Jar.SetCookies(mustParse(t, h.app.URL), resp.Cookies())
		authURLs = append(authURLs, resp.Header.Get("Location"))
	}
	if n := len(h.browser.Jar.Cookies(mustParse(t, h.app.URL))); n != 2 {
		t.Fatalf("the browser keeps %d login cookies, want 2", n)
	}
	for i, want := range []string{"/tab1", "/tab2"} {
		resp, _ := h.callback(h.browser, h.authorize(h.browser, authURLs[i]))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Fatalf("tab %d: %d %q (%v)", i+1, resp.StatusCode, resp.Header.Get("Location"), h.lastErr())
		}
	}
	// Later logins reuse a login cookie the browser has: no third one.
	held := map[string]bool{}
	for _, c := range h.browser.Jar.Cookies(mustParse(t, h.app.URL)) {
		held[c.Value] = true
	}
	resp, _ := h.navigate(h.browser, "/auth/login")
	if set := resp.Cookies(); len(set) != 1 || !held[set[0].Value] {
		t.Fatalf("login cookies set: %v", set)
	}
}

func TestPendingLoginsAreCapped(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.MaxPendingLogins = 2 }})
	first := h.authorize(h.browser, h.startLogin(h.browser, "/1"))
	h.startLogin(h.browser, "/2")
	h.startLogin(h.browser, "/3")
	resp, _ := h.callback(h.browser, first)
	if resp.StatusCode != 400 || !errors.Is(h.lastErr(), oidcmw.ErrStateMismatch) {
		t.Fatalf("oldest login beyond the cap: %d %v", resp.StatusCode, h.lastErr())
	}
	if cookies := h.browser.Jar.Cookies(mustParse(t, h.app.URL)); len(cookies) != 1 {
		t.Errorf("browser holds %d cookies for 3 logins, want 1", len(cookies))
	}
}

func TestReplayedCallback(t *testing.T) {
	h := newHarness(t, setup{})
	cb := h.authorize(h.browser, h.startLogin(h.browser, "/x"))
	if resp, _ := h.callback(h.browser, cb); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first callback %d", resp.StatusCode)
	}
	tokenCalls := h.op.Count("/token")
	other := h.newBrowser() // a fresh browser replays the same URL
	for _, c := range []*http.Client{h.browser, other} {
		resp, _ := h.callback(c, cb)
		if resp.StatusCode != 400 || !errors.Is(h.lastErr(), oidcmw.ErrStateMismatch) {
			t.Errorf("replayed callback: %d %v", resp.StatusCode, h.lastErr())
		}
	}
	if h.op.Count("/token") != tokenCalls {
		t.Error("replayed callback reached the token endpoint")
	}
	if h.signedIn(other) {
		t.Error("replaying browser got a session")
	}
}

// TestLoginCSRF: the attacker starts a login in their own browser and makes
// the victim's browser open the callback URL. The state is bound to the
// attacker's login cookie, so the victim gets 400 and no session.
func TestLoginCSRF(t *testing.T) {
	h := newHarness(t, setup{})
	attacker, victim := h.browser, h.newBrowser()
	cb := h.authorize(attacker, h.startLogin(attacker, "/"))
	h.startLogin(victim, "/") // the victim even has a login cookie of its own
	resp, _ := h.callback(victim, cb)
	if resp.StatusCode != 400 || !errors.Is(h.lastErr(), oidcmw.ErrStateMismatch) {
		t.Fatalf("victim callback: %d %v", resp.StatusCode, h.lastErr())
	}
	if h.signedIn(victim) {
		t.Fatal("victim signed in as the attacker")
	}
	if h.op.Count("/token") != 0 {
		t.Error("code redeemed for the wrong browser")
	}
}

// TestSessionFixation: a session cookie planted before login (here: the
// attacker's own session id) is replaced and destroyed at login.
func TestSessionFixation(t *testing.T) {
	h := newHarness(t, setup{})
	h.login(h.browser, "/")
	u := mustParse(t, h.app.URL)
	planted := h.browser.Jar.Cookies(u)
	victim := h.newBrowser()
	victim.Jar.SetCookies(u, planted)
	h.op.SetUser(oidctest.User{Subject: "victim"})
	resp, _ := do(t, victim, http.MethodGet, h.app.URL+"/auth/login", htmlAccept, nil)
	if resp, _ := h.callback(victim, h.authorize(victim, resp.Header.Get("Location"))); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("victim login: %d", resp.StatusCode)
	}
	if _, body := h.navigate(victim, "/"); body != "hello victim" {
		t.Fatalf("victim sees %q", body)
	}
	for _, c := range victim.Jar.Cookies(u) {
		for _, p := range planted {
			if c.Name == "oidcmw" && c.Value == p.Value {
				t.Fatal("session id survived login")
			}
		}
	}
	if h.signedIn(h.browser) {
		t.Error("the planted session still works")
	}
}

func TestBadCallbackInputCreatesNothing(t *testing.T) {
	h := newHarness(t, setup{})
	h.startLogin(h.browser, "/") // one pending login that must survive
	base := h.app.URL + "/auth/callback"
	inputs := map[string]string{
		"no parameters":        base,
		"missing state":        base + "?code=abc",
		"unknown state":        base + "?code=abc&state=" + foreignState,
		"duplicated state":     base + "?code=abc&state=" + foreignState + "&state=" + foreignState,
		"control characters":   base + "?code=a%00b&state=%0d%0a" + foreignState,
		"100 kB parameter":     base + "?code=abc&state=" + foreignState + "&x=" + strings.Repeat("A", 100<<10),
		"bad percent-encoding": base + "?code=%zz&state=%",
	}
	before := h.store.Len()
	for name, u := range inputs {
		resp, body := do(t, h.newBrowser(), http.MethodGet, u, htmlAccept, nil)
		if resp.StatusCode < 400 || resp.StatusCode >= 500 {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("%s: set cookies %v", name, resp.Cookies())
		}
		if strings.Contains(body, "oidcmw:") {
			t.Errorf("%s: body echoes the error", name)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: error page can be framed (CSP %q)", name, csp)
		}
	}
	resp, _ := do(t, h.newBrowser(), http.MethodPost, base, map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		strings.NewReader("state="+strings.Repeat("A", 200<<10)))
	if resp.StatusCode != 400 {
		t.Errorf("POST to a query-mode callback: %d", resp.StatusCode)
	}
	if after := h.store.Len(); after != before {
		t.Errorf("store entries %d → %d", before, after)
	}
	if h.op.Count("/token") != 0 {
		t.Error("token endpoint called")
	}
	h.login(h.browser, "/still-serving")
}

func TestReturnToIsSameOrigin(t *testing.T) {
	h := newHarness(t, setup{})
	for _, rt := range []string{
		"https://evil.com/", "//evil.com", "/\\evil.com", "/\t/evil.com", "/%09/evil.com",
		"///evil.com", "http:evil.com", "/%5cevil.com", "javascript:alert(1)",
	} {
		c := h.newBrowser()
		resp, _ := do(t, c, http.MethodGet, h.app.URL+"/auth/login?return_to="+url.QueryEscape(rt), htmlAccept, nil)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("login %q: %d", rt, resp.StatusCode)
		}
		resp, _ = h.callback(c, h.authorize(c, resp.Header.Get("Location")))
		if got := resp.Header.Get("Location"); got != "/" {
			t.Errorf("return_to %q landed on %q, want /", rt, got)
		}
	}
	// A protected URL that starts with // keeps the user on this origin.
	resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"//evil.com/x", htmlAccept, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusFound && strings.HasPrefix(loc, h.op.URL) {
		resp, _ = h.callback(h.browser, h.authorize(h.browser, loc))
		if got := resp.Header.Get("Location"); strings.HasPrefix(got, "//") {
			t.Errorf("guard saved return_to %q", got)
		}
	}
}

func TestPublicClient(t *testing.T) {
	h := newHarness(t, setup{
		op: oidctest.Config{Clients: []oidctest.Client{{ID: "spa", AuthMethod: "none"}}},
		opts: func(o *oidcmw.Options) {
			o.ClientID, o.ClientSecret = "spa", ""
		},
	})
	h.login(h.browser, "/")
	for _, r := range h.op.Requests() {
		if r.Path == "/token" && (r.Header.Get("Authorization") != "" || r.Form.Get("client_id") != "spa" || r.Form.Has("client_secret")) {
			t.Errorf("public client token request: form %v, Authorization %q", r.Form, r.Header.Get("Authorization"))
		}
	}
}

func TestClientSecretPost(t *testing.T) {
	h := newHarness(t, setup{
		op: oidctest.Config{Clients: []oidctest.Client{{ID: "post", Secret: "s3cr:t", AuthMethod: "client_secret_post"}}},
		opts: func(o *oidcmw.Options) {
			o.ClientID, o.ClientSecret, o.ClientAuthMethod = "post", "s3cr:t", "client_secret_post"
		},
	})
	h.login(h.browser, "/")
	for _, r := range h.op.Requests() {
		if r.Path == "/token" && (r.Header.Get("Authorization") != "" || r.Form.Get("client_secret") != "s3cr:t") {
			t.Errorf("client_secret_post token request: form %v", r.Form)
		}
	}
}

func TestFormPost(t *testing.T) {
	h := newHarness(t, setup{https: true, opts: func(o *oidcmw.Options) { o.ResponseMode = "form_post" }})
	resp, _ := h.navigate(h.browser, "/fp")
	authURL := resp.Header.Get("Location")
	if mustParse(t, authURL).Query().Get("response_mode") != "form_post" {
		t.Fatal("response_mode not sent")
	}
	var login *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "__Host-oidcmw_login_") {
			login = c
		}
	}
	if login == nil || login.SameSite != http.SameSiteNoneMode || !login.Secure || !login.HttpOnly {
		t.Fatalf("login cookie %+v, want __Host-, SameSite=None, Secure, HttpOnly", login)
	}
	resp, body := do(t, h.browser, http.MethodGet, authURL, htmlAccept, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("authorize: %d", resp.StatusCode)
	}
	action, fields, err := oidctest.ParseFormPost(strings.NewReader(body))
	if err != nil || action != h.opts.RedirectURL {
		t.Fatalf("form post %q %v", action, err)
	}
	// The same parameters in a GET are refused: the response mode is fixed.
	if resp, _ := h.callback(h.browser, action+"?"+fields.Encode()); resp.StatusCode != 400 {
		t.Errorf("GET to a form_post callback: %d", resp.StatusCode)
	}
	resp, _ = do(t, h.browser, http.MethodPost, action,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(fields.Encode()))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/fp" {
		t.Fatalf("form_post callback: %d %q (%v)", resp.StatusCode, resp.Header.Get("Location"), h.lastErr())
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-oidcmw" {
			session = c
		}
	}
	if session == nil || !session.Secure || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v, want __Host-, Secure, SameSite=Lax", session)
	}
	if !h.signedIn(h.browser) {
		t.Fatal("not signed in after form_post")
	}
}

func mustParse(t *testing.T, u string) *url.URL {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu
}

// TestConcurrentFirstRequestsShareDiscovery: many cold requests fetch
// discovery and the JWKS once.
func TestConcurrentFirstRequestsShareDiscovery(t *testing.T) {
	h := newHarness(t, setup{})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			c := h.newBrowser()
			h.login(c, "/")
		})
	}
	wg.Wait()
	if n := h.op.Count("/.well-known/openid-configuration"); n != 1 {
		t.Errorf("discovery fetched %d times", n)
	}
	if n := h.op.Count("/jwks"); n != 1 {
		t.Errorf("JWKS fetched %d times", n)
	}
}

func TestOptional(t *testing.T) {
	h := newHarness(t, setup{})
	h.app.Config.Handler.(*http.ServeMux).Handle("/home", h.m.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, ok := oidcmw.FromContext(r.Context()); ok {
			w.Write([]byte("hi " + id.Subject))
			return
		}
		w.Write([]byte("anonymous"))
	})))
	if resp, body := h.navigate(h.browser, "/home"); resp.StatusCode != 200 || body != "anonymous" {
		t.Errorf("without session: %d %q", resp.StatusCode, body)
	}
	h.login(h.browser, "/")
	if _, body := h.navigate(h.browser, "/home"); body != "hi alice" {
		t.Errorf("with session: %q", body)
	}
}

// TestForwardedHeadersAreIgnored: the middleware trusts no proxy headers
// (RFC 9700 §4.13): the redirect URI comes from configuration, the return
// path from the request's own path, whatever X-Forwarded-* or Forwarded say.
func TestForwardedHeadersAreIgnored(t *testing.T) {
	h := newHarness(t, setup{})
	hdr := map[string]string{
		"Accept":             "text/html",
		"X-Forwarded-Host":   "evil.example",
		"X-Forwarded-Proto":  "https",
		"X-Forwarded-Prefix": "//evil.example",
		"X-Forwarded-Uri":    "/public",
		"X-Original-URL":     "//evil.example/",
		"Forwarded":          "host=evil.example;proto=https",
	}
	resp, _ := do(t, h.browser, http.MethodGet, h.app.URL+"/admin", hdr, nil)
	q := mustParse(t, resp.Header.Get("Location")).Query()
	if resp.StatusCode != http.StatusFound || q.Get("redirect_uri") != h.opts.RedirectURL {
		t.Fatalf("%d, redirect_uri %q", resp.StatusCode, q.Get("redirect_uri"))
	}
	resp, _ = h.callback(h.browser, h.authorize(h.browser, resp.Header.Get("Location")))
	if got := resp.Header.Get("Location"); got != "/admin" {
		t.Fatalf("landed on %q, want /admin", got)
	}
}

// TestEncodedPathsStayGuarded: the guard protects whatever the router
// hands it and matches no paths itself, so encodings of "#", "..", and "/"
// cannot make a protected path look public.
func TestEncodedPathsStayGuarded(t *testing.T) {
	h := newHarness(t, setup{})
	mux := h.app.Config.Handler.(*http.ServeMux)
	mux.HandleFunc("/public/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("public " + r.URL.Path)) })
	for _, p := range []string{
		"/admin%23/public/", "/admin#/public/", "/public/..%2fadmin", "/public%2f..%2fadmin",
		"/public/../admin", "/./admin", "//admin", "/admin/%2e%2e/public/",
	} {
		resp, body := do(t, h.browser, http.MethodGet, h.app.URL+p, jsonAccept, nil)
		// Either the guard refused it, the router redirected it to a clean
		// path, or the router sent it to the public handler; never the
		// protected one.
		if resp.StatusCode == http.StatusOK && !strings.HasPrefix(body, "public ") {
			t.Errorf("%s: %d %q", p, resp.StatusCode, body)
		}
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("the protected handler ran %d times without a session", n)
	}
}
