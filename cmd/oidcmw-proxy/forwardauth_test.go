package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcmw/oidcmw/oidctest"
)

// askAuth asks p's /oauth2/auth about method and uri as a front end does,
// with c's cookies (those of the browser the front end serves) and hdr.
func askAuth(t *testing.T, c *http.Client, p *proc, method, uri string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	h := http.Header{"X-Forwarded-Method": {method}, "X-Forwarded-Uri": {uri}}
	for k, vs := range hdr {
		h[k] = vs
	}
	return fetch(t, c, http.MethodGet, p.url+"/oauth2/auth", h)
}

// identityHeaders are the X-Auth-Request-* headers of an answer.
func identityHeaders(h http.Header) map[string]string {
	out := map[string]string{}
	for k, vs := range h {
		if strings.HasPrefix(normalName(k), "x-auth-request-") {
			out[k] = strings.Join(vs, "|")
		}
	}
	return out
}

// startLogin signs c in through p's /oauth2/start?rd=target and returns
// the final response (redirects followed) and its body.
func startLogin(t *testing.T, c *http.Client, p *proc, target string) (*http.Response, string) {
	t.Helper()
	return fetch(t, c, http.MethodGet, p.url+"/oauth2/start?rd="+url.QueryEscape(target), navigation)
}

// TestForwardAuth: /oauth2/auth answers a trusted front end 401 without a
// session (never a redirect), 200 with the identity headers and the JWT
// for a user the rules allow, 403 for one they refuse, and 200 without
// identity for a public route matched on the original path, cleaned, never
// on its query; a bad original request is 400.
func TestForwardAuth(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{User: oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": []any{"admins", "dev"}}}})
	defer op.Close()
	p := startProxy(t, opEnv(op), "--forward-auth", "--trusted-proxy", "127.0.0.1/32",
		"--public-route", "GET /pub/", "--public-route", "* ^/health$",
		"--allowed-email-domain", "example.com", "--pass-access-token",
		"--inject-jwt", "--jwt-audience", "https://app.example.com")
	if !strings.Contains(p.log.String(), "mode=forward-auth") {
		t.Errorf("the listening line does not name the mode:\n%s", p.log)
	}

	c := browser()
	resp, body := askAuth(t, c, p, "GET", "/app/x", api)
	if resp.StatusCode != http.StatusUnauthorized || resp.Request.URL.Path != "/oauth2/auth" {
		t.Fatalf("without a session: %d at %s, want 401 and no redirect: %q", resp.StatusCode, resp.Request.URL, body)
	}
	// A navigation gets a page that leads to the login, for Traefik and
	// Envoy, which show the answer to the browser.
	resp, body = askAuth(t, c, p, "GET", "/app/x?a=1", navigation)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, p.url+"/oauth2/start?rd=%2Fapp%2Fx%3Fa%3D1") {
		t.Errorf("navigation without a session: %d %q", resp.StatusCode, body)
	}
	resp, body = askAuth(t, c, p, "GET", "/app/x", http.Header{"Accept": {"text/html"},
		"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"app.example.com"}})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "rd=https%3A%2F%2Fapp.example.com%2Fapp%2Fx") {
		t.Errorf("navigation at another host: %d %q", resp.StatusCode, body)
	}
	// Logging in with a relative rd lands on that path at the proxy's
	// origin (the front end's, in a real set-up).
	if resp, body := startLogin(t, c, p, "/app/x?a=1"); resp.Request.URL.Path != "/app/x" || resp.Request.URL.RawQuery != "a=1" {
		t.Fatalf("login ended at %s: %d %q", resp.Request.URL, resp.StatusCode, body)
	}

	resp, body = askAuth(t, c, p, "GET", "/app/x", api)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed in: %d %q", resp.StatusCode, body)
	}
	for name, want := range map[string]string{headerUser: "alice", headerEmail: "alice@example.com", headerGroups: "admins,dev"} {
		if got := resp.Header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if resp.Header.Get(headerAccessToken) == "" {
		t.Errorf("no %s with --pass-access-token", headerAccessToken)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	// The JWT verifies with the key set at /oauth2/jwks, for the issuer
	// (the proxy's origin) and the audience.
	ctx := context.Background()
	v := oidc.NewVerifier(p.url, oidc.NewRemoteKeySet(ctx, p.url+"/oauth2/jwks"),
		&oidc.Config{ClientID: "https://app.example.com", SupportedSigningAlgs: []string{"ES256"}})
	tok, err := v.Verify(ctx, resp.Header.Get(headerJWT))
	if err != nil {
		t.Fatalf("%s: %v", headerJWT, err)
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := tok.Claims(&claims); err != nil || tok.Subject != "alice" || claims.Email != "alice@example.com" || len(claims.Groups) != 2 {
		t.Errorf("JWT: sub %q, %+v, %v", tok.Subject, claims, err)
	}

	// The front end's own headers never make it an identity: the answer
	// carries the proxy's.
	resp, _ = askAuth(t, c, p, "GET", "/app/x", http.Header{"X-Auth-Request-User": {"spoofed"}, "X_Auth_Request_Email": {"spoofed@example.com"}})
	if resp.StatusCode != 200 || resp.Header.Get(headerUser) != "alice" || resp.Header.Get(headerEmail) != "alice@example.com" {
		t.Errorf("with spoofed identity headers: %d %v", resp.StatusCode, identityHeaders(resp.Header))
	}

	t.Run("public routes on the original path", func(t *testing.T) {
		for _, tc := range []struct {
			name, method, uri string
			want              int // for a browser without a session
		}{
			{"prefix", "GET", "/pub/page", 200},
			{"regexp, any method", "POST", "/health", 200},
			{"with a query", "GET", "/pub/page?x=1", 200},
			{"method", "POST", "/pub/page", 401},
			{"the query is not the path", "GET", "/app?next=/pub/", 401},
			{"dot-dot out of the prefix", "GET", "/pub/../app", 401},
			{"encoded dot-dot", "GET", "/pub/%2e%2e/app", 401},
			{"encoded slash and dot-dot", "GET", "/pub/%2F..%2Fapp", 401},
			{"double slash into the prefix", "GET", "//pub/x", 200},
			{"raw #", "GET", "/pub/x#y", 400},
			{"raw # in the query", "GET", "/app?a#/pub/", 400},
			{"%23 is part of the path", "GET", "/pub/a%23b", 200},
			{"not a path", "GET", "*", 400},
			{"absolute URI", "GET", "http://evil.example/pub/", 400},
			{"bad escape", "GET", "/pub/%zz", 400},
			{"lower-case method", "get", "/pub/page", 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := askAuth(t, browser(), p, tc.method, tc.uri, api)
				if resp.StatusCode != tc.want {
					t.Fatalf("%s %s: %d, want %d: %q", tc.method, tc.uri, resp.StatusCode, tc.want, body)
				}
				if ids := identityHeaders(resp.Header); len(ids) > 0 {
					t.Errorf("identity headers without a session: %v", ids)
				}
			})
		}
		// Signed in, a public route still answers without identity.
		resp, _ := askAuth(t, c, p, "GET", "/pub/page", api)
		if ids := identityHeaders(resp.Header); resp.StatusCode != 200 || len(ids) > 0 {
			t.Errorf("public route, signed in: %d %v", resp.StatusCode, ids)
		}
	})

	t.Run("original request headers", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			hdr  http.Header
			want int
		}{
			{"nginx names", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/pub/x"}}, 200},
			{"both names, same value", http.Header{"X-Original-Method": {"GET"}, "X-Forwarded-Method": {"GET"},
				"X-Original-Uri": {"/pub/x"}, "X-Forwarded-Uri": {"/pub/x"}}, 200},
			{"both names, different values", http.Header{"X-Forwarded-Method": {"GET"},
				"X-Original-Uri": {"/app"}, "X-Forwarded-Uri": {"/pub/x"}}, 400},
			{"repeated", http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/app", "/pub/x"}}, 400},
			{"no URI", http.Header{"X-Forwarded-Method": {"GET"}}, 400},
			{"no method", http.Header{"X-Forwarded-Uri": {"/pub/x"}}, 400},
			// Only the canonical spelling counts: an underscore variant
			// comes from the front end's client.
			{"underscore spelling", http.Header{"X_Forwarded_Method": {"GET"}, "X_Forwarded_Uri": {"/pub/x"}}, 400},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := fetch(t, browser(), http.MethodGet, p.url+"/oauth2/auth", tc.hdr)
				if resp.StatusCode != tc.want {
					t.Errorf("%d, want %d: %q", resp.StatusCode, tc.want, body)
				}
			})
		}
		// Envoy asks with the original method.
		resp, _ := fetch(t, c, http.MethodPost, p.url+"/oauth2/auth", http.Header{"X-Forwarded-Method": {"POST"}, "X-Forwarded-Uri": {"/app/form"}})
		if resp.StatusCode != 200 || resp.Header.Get(headerUser) != "alice" {
			t.Errorf("POST /oauth2/auth: %d", resp.StatusCode)
		}
	})

	t.Run("refused by the rules", func(t *testing.T) {
		op.SetUser(oidctest.User{Subject: "mallory", Claims: map[string]any{"email": "mallory@evil.example", "email_verified": true}})
		defer op.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com", "email_verified": true}})
		m := browser()
		startLogin(t, m, p, "/")
		resp, body := askAuth(t, m, p, "GET", "/app/x", api)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Access denied") {
			t.Errorf("refused user: %d %q", resp.StatusCode, body)
		}
		if ids := identityHeaders(resp.Header); len(ids) > 0 {
			t.Errorf("identity headers for a refused user: %v", ids)
		}
	})

	t.Run("no upstream", func(t *testing.T) {
		if resp, _ := fetch(t, c, http.MethodGet, p.url+"/app/x", api); resp.StatusCode != http.StatusNotFound {
			t.Errorf("a path outside /oauth2/: %d, want 404", resp.StatusCode)
		}
	})
}

// TestForwardAuthUntrusted: a client that is not a --trusted-proxy gets
// 403 from /oauth2/auth, with or without a session, whatever original
// request it claims (a spoofed X-Forwarded-Uri of a public route
// included).
func TestForwardAuthUntrusted(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	p := startProxy(t, opEnv(op), "--forward-auth", "--trusted-proxy", "10.0.0.0/8", "--public-route", "GET /pub/")
	c := browser()
	startLogin(t, c, p, "/")
	for _, tc := range []struct {
		name string
		c    *http.Client
		uri  string
	}{
		{"no session", browser(), "/app"},
		{"spoofed public URI", browser(), "/pub/x"},
		{"with a session", c, "/app"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := askAuth(t, tc.c, p, "GET", tc.uri, http.Header{"X-Original-Uri": {tc.uri}, "X-Original-Method": {"GET"}})
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "--trusted-proxy") {
				t.Errorf("%d %q, want 403 naming --trusted-proxy", resp.StatusCode, body)
			}
			if ids := identityHeaders(resp.Header); len(ids) > 0 {
				t.Errorf("identity headers: %v", ids)
			}
		})
	}
}

// TestForwardAuthRD: /oauth2/start?rd= with an absolute URL sends the
// browser there after the login when --rd-domain allows it (on label
// boundaries), through the rd cookie and /oauth2/continue; a refused rd is
// 400 with a page that does not repeat it, and starts no login; relative
// rds go to oidcmw's return_to policy, which keeps them same-origin.
func TestForwardAuthRD(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--forward-auth", "--trusted-proxy", "127.0.0.1/32",
		"--rd-domain", "127.0.0.1", "--rd-domain", ".bar.foo")
	proxyHost := strings.TrimPrefix(p.url, "http://")

	t.Run("allowed", func(t *testing.T) {
		resp, body := startLogin(t, browser(), p, up.URL+"/landing?q=1&r=2")
		if resp.StatusCode != 200 || resp.Request.URL.String() != up.URL+"/landing?q=1&r=2" {
			t.Fatalf("login ended at %s: %d %q", resp.Request.URL, resp.StatusCode, body)
		}
		if decodeSeen(t, body).Path != "/landing" {
			t.Errorf("the app got %q", body)
		}
	})

	t.Run("subdomain", func(t *testing.T) {
		// Follow redirects until the browser would leave for app.bar.foo.
		c := browser()
		var left *url.URL
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.URL.Hostname() != "127.0.0.1" {
				left = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, body := startLogin(t, c, p, "http://App.bar.foo:8443/x?y=1#frag")
		if left == nil || left.String() != "http://app.bar.foo:8443/x?y=1" || resp.Request.URL.Path != "/oauth2/continue" {
			t.Fatalf("left for %v from %s: %d %q", left, resp.Request.URL, resp.StatusCode, body)
		}
		// The cookie is spent: /oauth2/continue again goes to /.
		resp, _ = fetch(t, c, http.MethodGet, p.url+"/oauth2/continue", nil)
		if resp.Request.URL.String() != p.url+"/" {
			t.Errorf("/oauth2/continue a second time: %s", resp.Request.URL)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for _, target := range []string{
			"http://evilbar.foo/x", // GHSA-4mf2-f3wh-gvf2: no label boundary
			"http://bar.foo.evil.example/",
			"https://evil.example/",
			"http://127.0.0.1.evil.example/",
			`https://evil.example\@app.bar.foo/`,
			"https://user@app.bar.foo/",
			"javascript:alert(1)",
			"evil.example",
			`\\evil.example`,
		} {
			before := op.Count("/authorize")
			nf := &http.Client{Jar: browser().Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, body := fetch(t, nf, http.MethodGet, p.url+"/oauth2/start?rd="+url.QueryEscape(target), navigation)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not allowed") {
				t.Errorf("rd %q: %d %q, want 400", target, resp.StatusCode, body)
			}
			if strings.Contains(body, "evil") || strings.Contains(body, "javascript") {
				t.Errorf("rd %q: the page repeats it: %q", target, body)
			}
			if len(resp.Cookies()) > 0 || op.Count("/authorize") != before || resp.Header.Get("Location") != "" {
				t.Errorf("rd %q: a login started", target)
			}
		}
	})

	t.Run("relative", func(t *testing.T) {
		for target, want := range map[string]string{
			"/app/x?a=1":       "/app/x?a=1",
			"//evil.example/x": "/",
			`/\evil.example`:   "/",
			"/%2F%2Fevil":      "/",
		} {
			resp, _ := startLogin(t, browser(), p, target)
			if resp.Request.URL.Host != proxyHost || resp.Request.URL.RequestURI() != want {
				t.Errorf("rd %q: login ended at %s, want %s at the proxy", target, resp.Request.URL, want)
			}
		}
	})

	t.Run("parameters", func(t *testing.T) {
		for _, q := range []string{"rd=/a&rd=/b", "rd=/a&return_to=/b"} {
			if resp, _ := fetch(t, browser(), http.MethodGet, p.url+"/oauth2/start?"+q, navigation); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", q, resp.StatusCode)
			}
		}
		// Without rd, return_to works as before.
		if resp, _ := fetch(t, browser(), http.MethodGet, p.url+"/oauth2/start?return_to=/y", navigation); resp.Request.URL.Path != "/y" {
			t.Errorf("return_to: ended at %s", resp.Request.URL)
		}
	})

	t.Run("cookie", func(t *testing.T) {
		nf := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, _ := fetch(t, nf, http.MethodGet, p.url+"/oauth2/start?rd="+url.QueryEscape(up.URL+"/x"), navigation)
		var rdc *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == cookieName+"_rd" {
				rdc = ck
			}
		}
		if resp.StatusCode != http.StatusFound || rdc == nil {
			t.Fatalf("%d, cookies %v", resp.StatusCode, resp.Cookies())
		}
		if !rdc.HttpOnly || rdc.SameSite != http.SameSiteLaxMode || rdc.Path != "/oauth2/" || rdc.MaxAge <= 0 || rdc.MaxAge > 600 {
			t.Errorf("rd cookie %+v", rdc)
		}
		// A forged or altered cookie leads to /.
		for _, v := range []string{"aHR0cDovL2V2aWwuZXhhbXBsZQ.9999999999.AAAA", rdc.Value + "x", strings.Replace(rdc.Value, ".", "A.", 1)} {
			resp, _ := fetch(t, nf, http.MethodGet, p.url+"/oauth2/continue", http.Header{"Cookie": {rdc.Name + "=" + v}})
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
				t.Errorf("cookie %q: %d to %q", v, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
		resp, _ = fetch(t, nf, http.MethodGet, p.url+"/oauth2/continue", http.Header{"Cookie": {rdc.Name + "=" + rdc.Value}})
		if resp.Header.Get("Location") != up.URL+"/x" {
			t.Errorf("the real cookie: to %q", resp.Header.Get("Location"))
		}
	})
}

func TestOriginalRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		hdr  http.Header
		want original
		err  error
	}{
		{"raw # after the query", http.Header{"X-Forwarded-Method": {"GET"}, "X-Forwarded-Uri": {"/a/../b/?q=/c#"}}, original{}, errFragment},
		{"cleaned", http.Header{"X-Forwarded-Method": {"PUT"}, "X-Forwarded-Uri": {"/a/%2e%2e//b/?q=/c"}},
			original{"PUT", "/a/%2e%2e//b/?q=/c", "/b/"}, nil},
		{"original", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/s%23/t"}}, original{"GET", "/s%23/t", "/s#/t"}, nil},
		{"no method", http.Header{"X-Original-Uri": {"/"}}, original{}, errNoOriginalMethod},
		{"no URI", http.Header{"X-Original-Method": {"GET"}}, original{}, errNoOriginalURI},
		{"two methods", http.Header{"X-Original-Method": {"GET"}, "X-Forwarded-Method": {"POST"}, "X-Original-Uri": {"/"}}, original{}, errAmbiguousMethod},
		{"two URIs", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/", "/x"}}, original{}, errAmbiguousURI},
		{"method token", http.Header{"X-Original-Method": {"G T"}, "X-Original-Uri": {"/"}}, original{}, errBadMethod},
		{"empty URI", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {""}}, original{}, errNotPath},
		{"asterisk", http.Header{"X-Original-Method": {"OPTIONS"}, "X-Original-Uri": {"*"}}, original{}, errNotPath},
		{"absolute", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"https://x/"}}, original{}, errNotPath},
		{"control byte", http.Header{"X-Original-Method": {"GET"}, "X-Original-Uri": {"/a\x00b"}}, original{}, errNotPath},
	} {
		got, err := originalRequest(tc.hdr)
		if got != tc.want || err != tc.err {
			t.Errorf("%s: %+v, %v; want %+v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}
