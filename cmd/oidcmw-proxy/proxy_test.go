package main

import (
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw/internal/redistest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestProxyLoginPassesIdentity: a navigation to a protected path logs in
// at the provider and lands on the upstream with the identity headers,
// without the proxy's cookies; an API call without a session gets 401 and
// never reaches the upstream.
func TestProxyLoginPassesIdentity(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{User: oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": []any{"admins", "dev", "a,b", 7}}}})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL)

	if resp, _ := fetch(t, browser(), http.MethodGet, p.url+"/whoami", api); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API call without a session: %d, want 401", resp.StatusCode)
	}
	if up.hits() != 0 {
		t.Fatalf("the upstream was reached without a session")
	}
	c := browser()
	u, _ := url.Parse(p.url)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: "app", Value: "keep"}})
	got := signIn(t, c, p, "/whoami")
	host := strings.TrimPrefix(p.url, "http://")
	for name, want := range map[string]string{
		headerUser:          "alice",
		headerEmail:         "alice@example.com",
		headerGroups:        "admins,dev", // "a,b" would change the list; 7 is no string
		"X-Forwarded-For":   "127.0.0.1",
		"X-Forwarded-Proto": "http",
		"X-Forwarded-Host":  host,
		"Cookie":            "app=keep",
	} {
		if v, ok := got.only(name); !ok || v != want {
			t.Errorf("upstream %s: %q, want %q", name, got.values(name), want)
		}
	}
	if vs := got.values(headerAccessToken); len(vs) > 0 {
		t.Errorf("access token passed without --pass-access-token: %q", vs)
	}
	if got.Path != "/whoami" || got.Host != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("upstream got %s for host %s", got.Path, got.Host)
	}
	// With the session, an API call passes too.
	if resp, body := fetch(t, c, http.MethodGet, p.url+"/api/x?q=1", api); resp.StatusCode != 200 ||
		decodeSeen(t, body).RequestURI != "/api/x?q=1" {
		t.Errorf("API call with a session: %d %q", resp.StatusCode, body)
	}

	t.Run("email not verified", func(t *testing.T) {
		op.SetUser(oidctest.User{Subject: "bob", Claims: map[string]any{"email": "bob@example.com", "email_verified": false}})
		got := signIn(t, browser(), p, "/")
		if v, _ := got.only(headerUser); v != "bob" {
			t.Errorf("user %q", got.values(headerUser))
		}
		if vs := got.values(headerEmail); len(vs) > 0 {
			t.Errorf("unverified email passed: %q", vs)
		}
	})
}

// spoofed are identity and forwarded headers a client may send, in the
// spellings that survive a naive strip (GHSA-vjrc-mh2v-45x6): every value
// holds "spoof" or 6.6.6.6.
var spoofed = http.Header{
	"X-Auth-Request-User":               {"spoofed-user"},
	"x-auth-request-user":               {"spoofed-lower"},
	"X_Auth_Request_User":               {"spoofed-underscore"},
	"X-AUTH-REQUEST-EMAIL":              {"spoofed@example.com"},
	"X_Auth_Request_Email":              {"spoofed-underscore@example.com"},
	"X-Auth-Request-Groups":             {"spoofed-admins"},
	"x_auth_request_access_token":       {"spoofed-token"},
	"X-Auth-Request-Preferred-Username": {"spoofed-name"},
	"Authorization":                     {"Bearer spoofed-bearer"},
	"X-Forwarded-User":                  {"spoofed-fwd-user"},
	"X_Forwarded_Email":                 {"spoofed-fwd@example.com"},
	"X-Forwarded-For":                   {"6.6.6.6"},
	"X_Forwarded_For":                   {"6.6.6.7"},
	"X-Forwarded-Host":                  {"spoofed.example"},
	"X-Forwarded-Proto":                 {"spoofed"},
	"X-Forwarded-Uri":                   {"/public/spoofed"},
	"X-Original-Url":                    {"/public/spoofed-original"},
	"X-Rewrite-Url":                     {"/public/spoofed-rewrite"},
	"X-Real-Ip":                         {"6.6.6.8"},
	"Forwarded":                         {"for=6.6.6.9;host=spoofed.example"},
	"Accept":                            {"application/json"},
}

// injected are the names of every header the proxy sets for the upstream.
var injected = []string{"X-Auth-Request-User", "X-Auth-Request-Email", "X-Auth-Request-Groups",
	"X-Auth-Request-Access-Token", "X-Auth-Request-Jwt"}

// spellings is each injected name in lower, upper and mixed case, with
// "-" and with "_", each with a value of its own that holds "spoof".
func spellings() http.Header {
	h := http.Header{}
	for _, name := range injected {
		for _, cased := range []string{strings.ToLower(name), strings.ToUpper(name), name} {
			for _, sep := range []string{"-", "_"} {
				k := strings.ReplaceAll(cased, "-", sep)
				h[k] = append(h[k], "spoof-"+k)
			}
		}
	}
	return h
}

// TestProxyDropsSpoofedHeaders: identity, Authorization and forwarded
// headers from the client never reach the upstream, in any spelling (each
// injected header in lower, upper and mixed case, with "-" and "_"), on a
// signed-in request as on a public route; X-Forwarded-* are the proxy's.
func TestProxyDropsSpoofedHeaders(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--public-route", "GET /public/")
	c := browser()
	signIn(t, c, p, "/")
	host := strings.TrimPrefix(p.url, "http://")

	for _, tc := range []struct {
		name, path string
		user       string // the X-Auth-Request-User the upstream must get; "" for none
		extra      http.Header
	}{
		{"signed in", "/private", "alice", nil},
		// ReverseProxy drops headers the Connection header names; Rewrite
		// sets the identity after that.
		{"signed in, identity named in Connection", "/private", "alice", http.Header{"Connection": {"X-Auth-Request-User, X-Auth-Request-Email"}}},
		{"public route", "/public/page", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := spoofed.Clone()
			for k, vs := range spellings() {
				hdr[k] = append(hdr[k], vs...)
			}
			for k, vs := range tc.extra {
				hdr[k] = vs
			}
			resp, body := fetch(t, c, http.MethodGet, p.url+tc.path, hdr)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %q", tc.path, resp.StatusCode, body)
			}
			got := decodeSeen(t, body)
			for _, leak := range []string{"spoof", "6.6.6."} {
				if hs := got.containing(leak); len(hs) > 0 {
					t.Errorf("client headers reached the upstream: %q", hs)
				}
			}
			if v, ok := got.only(headerUser); tc.user != "" && (!ok || v != tc.user) {
				t.Errorf("%s: %q, want %q", headerUser, got.values(headerUser), tc.user)
			}
			for k := range got.Header {
				if tc.user == "" && strings.HasPrefix(normalName(k), "x-auth-request-") {
					t.Errorf("public route got %s", k)
				}
			}
			if tc.user != "" {
				if v, ok := got.only(headerEmail); !ok || v != "alice@example.com" {
					t.Errorf("%s: %q", headerEmail, got.values(headerEmail))
				}
			}
			if vs := got.values("Authorization"); len(vs) > 0 {
				t.Errorf("Authorization reached the upstream: %q", vs)
			}
			for name, want := range map[string]string{"X-Forwarded-For": "127.0.0.1", "X-Forwarded-Proto": "http", "X-Forwarded-Host": host} {
				if v, ok := got.only(name); !ok || v != want {
					t.Errorf("%s: %q, want %q", name, got.values(name), want)
				}
			}
		})
	}
}

// TestProxyDropsTrailers: request trailers, whose values arrive after the
// body, never reach the upstream.
func TestProxyDropsTrailers(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--public-route", "* /")
	status, body := raw(t, p, "POST /form HTTP/1.1\nHost: proxy.test\nTransfer-Encoding: chunked\n"+
		"Trailer: X-Auth-Request-User, X_Auth_Request_Email\n\n"+
		"2\nhi\n0\nX-Auth-Request-User: spoofed-trailer\nX_Auth_Request_Email: spoofed@example.com")
	if status != 200 {
		t.Fatalf("%d %q", status, body)
	}
	got := decodeSeen(t, body)
	if len(got.Trailer) > 0 || len(got.containing("spoof")) > 0 {
		t.Errorf("trailers reached the upstream: %v, %v", got.Trailer, got.containing("spoof"))
	}
}

// TestProxyTrustedProxy: from a --trusted-proxy client, X-Forwarded-For is
// extended and -Proto and -Host are kept; identity headers and the
// underscore spellings are dropped all the same.
func TestProxyTrustedProxy(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--public-route", "* /", "--trusted-proxy", "10.0.0.0/8,127.0.0.0/8")
	hdr := spoofed.Clone()
	hdr["X-Forwarded-For"] = []string{"203.0.113.7"}
	hdr["X-Forwarded-Proto"] = []string{"https"}
	hdr["X-Forwarded-Host"] = []string{"app.example.com"}
	_, body := fetch(t, browser(), http.MethodGet, p.url+"/x", hdr)
	got := decodeSeen(t, body)
	for name, want := range map[string]string{
		"X-Forwarded-For": "203.0.113.7, 127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "app.example.com",
		"X-Real-Ip": "6.6.6.8", // a trusted proxy's
	} {
		if v, ok := got.only(name); !ok || v != want {
			t.Errorf("%s: %q, want %q", name, got.values(name), want)
		}
	}
	for _, leak := range []string{"spoof", "6.6.6.7", "6.6.6.9"} {
		if hs := got.containing(leak); len(hs) > 0 {
			t.Errorf("headers reached the upstream: %q", hs)
		}
	}
}

// TestProxyPublicRoutes: the public-route matcher sees the decoded,
// cleaned path without the query, and the upstream gets that same path;
// the inputs of GHSA-7rh7-c77v-6434 (query), GHSA-pxq7-h93f-9jrg
// (fragment) and dot-segment and double-slash tricks.
func TestProxyPublicRoutes(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL,
		"--public-route", "GET ^/api/.*/status$",
		"--public-route", "GET ^/foo/.*/bar$",
		"--public-route", "* /public/",
		"--public-route", "GET /static/")
	const (
		guarded = 401
		refused = 400
	)
	for _, tc := range []struct {
		name, line string
		status     int
		path, uri  string // what the upstream got, for 200
	}{
		{"regexp route", "GET /api/v1/status", 200, "/api/v1/status", "/api/v1/status"},
		{"query is not the path (GHSA-7rh7-c77v-6434)", "GET /api/private/sensitive?path=/status", guarded, "", ""},
		{"encoded ? is part of the path", "GET /api/v1/status%3Fx", guarded, "", ""},
		{"regexp route with query", "GET /api/v1/status?verbose=1", 200, "/api/v1/status", "/api/v1/status?verbose=1"},
		{"raw # (GHSA-pxq7-h93f-9jrg)", "GET /foo/secret#/bar", refused, "", ""},
		{"raw # in the query", "GET /foo/x/bar?a#b", refused, "", ""},
		// %23 is a "#" in the decoded path, which the rule matches; the
		// upstream gets the same path, %23 and all, never /foo/secret.
		{"%23 stays in the path", "GET /foo/secret%23/bar", 200, "/foo/secret#/bar", "/foo/secret%23/bar"},
		{"dot-dot out of a prefix", "GET /public/../admin", guarded, "", ""},
		{"encoded dot-dot", "GET /public/%2e%2e/admin", guarded, "", ""},
		{"encoded slash and dot-dot", "GET /public/%2F..%2Fadmin", guarded, "", ""},
		{"deep dot-dot", "GET /public/a/../../admin", guarded, "", ""},
		{"double slash", "GET //admin", guarded, "", ""},
		{"double slash into a prefix", "GET //public/x", 200, "/public/x", "/public/x"},
		{"dot segments and slashes cleaned", "GET /public/a/./b//c/", 200, "/public/a/b/c/", "/public/a/b/c/"},
		{"dot-dot out of a regexp route", "GET /api/x/../../admin/status", guarded, "", ""},
		{"method *", "POST /public/form", 200, "/public/form", "/public/form"},
		{"method GET only", "POST /static/app.js", guarded, "", ""},
		{"prefix", "GET /static/app.js", 200, "/static/app.js", "/static/app.js"},
		{"prefix needs its slash", "GET /static", guarded, "", ""},
		{"paths are case-sensitive", "GET /STATIC/app.js", guarded, "", ""},
		{"OPTIONS * is net/http's", "OPTIONS * HTTP/1.1", 200, "", ""},
		{"CONNECT", "CONNECT example.com:443 HTTP/1.1", 405, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := tc.line
			if !strings.HasSuffix(line, "HTTP/1.1") {
				line += " HTTP/1.1"
			}
			before := up.hits()
			status, body := raw(t, p, line+"\nHost: proxy.test\nAccept: application/json\nContent-Length: 0")
			if status != tc.status {
				t.Fatalf("%q: %d, want %d: %q", tc.line, status, tc.status, body)
			}
			if tc.status != 200 || tc.path == "" {
				if up.hits() != before {
					t.Errorf("%q reached the upstream", tc.line)
				}
				return
			}
			if got := decodeSeen(t, body); got.Path != tc.path || got.RequestURI != tc.uri {
				t.Errorf("%q: upstream got path %q as %q, want %q as %q", tc.line, got.Path, got.RequestURI, tc.path, tc.uri)
			}
		})
	}

	// Signed in, the upstream gets the cleaned path too.
	c := browser()
	signIn(t, c, p, "/")
	if _, body := fetch(t, c, http.MethodGet, p.url+"/public/%2e%2e/admin", api); decodeSeen(t, body).RequestURI != "/admin" {
		t.Errorf("signed in, /public/%%2e%%2e/admin reached the upstream as %q", decodeSeen(t, body).RequestURI)
	}
}

// TestProxyHealthIgnoresHeaders: /oauth2/healthz and /oauth2/readyz are
// their own paths; a health checker's User-Agent opens nothing
// (GHSA-5hvv-m4w4-gf6v), and other /oauth2/ paths are the proxy's.
func TestProxyHealthIgnoresHeaders(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL)
	c := browser()
	for _, ua := range []string{"", "GoogleHC/1.0", "kube-probe/1.33", "ELB-HealthChecker/2.0", "oauth2-proxy/ping"} {
		hdr := http.Header{"User-Agent": {ua}, "Accept": {"application/json"}}
		for _, path := range []string{"/", "/ping", "/healthz", "/oauth2/healthz/x"} {
			if resp, _ := fetch(t, c, http.MethodGet, p.url+path, hdr); resp.StatusCode == 200 {
				t.Errorf("%s with User-Agent %q: 200", path, ua)
			}
		}
		if resp, body := fetch(t, c, http.MethodGet, p.url+"/oauth2/healthz", hdr); resp.StatusCode != 200 || body != "ok\n" {
			t.Errorf("/oauth2/healthz with User-Agent %q: %d %q", ua, resp.StatusCode, body)
		}
	}
	if resp, body := fetch(t, c, http.MethodGet, p.url+"/oauth2/readyz", nil); resp.StatusCode != 200 || body != "ready\n" {
		t.Errorf("/oauth2/readyz: %d %q", resp.StatusCode, body)
	}
	for _, path := range []string{"/oauth2/metrics", "/oauth2/nothing", "/oauth2/auth", "/oauth2/jwks"} {
		if resp, _ := fetch(t, c, http.MethodGet, p.url+path, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", path, resp.StatusCode)
		}
	}
	if up.hits() != 0 {
		t.Errorf("the upstream was reached %d times", up.hits())
	}
}

// loginAs signs a new browser in as u at path and returns the final
// status and body.
func loginAs(t *testing.T, op *oidctest.Server, p *proc, u oidctest.User, path string) (*http.Client, int, string) {
	t.Helper()
	op.SetUser(u)
	c := browser()
	resp, body := fetch(t, c, http.MethodGet, p.url+path, navigation)
	if resp.Request.URL.Path != path {
		t.Fatalf("login ended at %s", resp.Request.URL)
	}
	return c, resp.StatusCode, body
}

// TestProxyEmailDomainRule: --allowed-email-domain needs exactly one "@",
// the domain itself (ASCII case aside) and email_verified true
// (GHSA-c5c4-8r6x-56w3); a signed-in user who fails it gets 403, not a
// login loop.
func TestProxyEmailDomainRule(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--allowed-email-domain", "company.com,Example.ORG", "--allowed-email-domain", "kiosk.test")
	for _, tc := range []struct {
		name     string
		email    any
		verified any
		want     int
	}{
		{"allowed domain", "alice@company.com", true, 200},
		{"second domain, other case", "carol@EXAMPLE.org", true, 200},
		{"two @ (GHSA-c5c4-8r6x-56w3)", "attacker@evil.com@company.com", true, 403},
		{"not verified", "bob@company.com", false, 403},
		{"verified missing", "bob@company.com", nil, 403},
		{"verified as a string", "bob@company.com", "true", 403},
		{"suffix without a dot", "eve@evilcompany.com", true, 403},
		{"subdomain", "eve@sub.company.com", true, 403},
		{"trailing dot", "eve@company.com.", true, 403},
		{"repeated flag", "dave@kiosk.test", true, 200},
		// strings.EqualFold would take the Kelvin sign for k, long s for s.
		{"Kelvin sign", "eve@\u212aiosk.test", true, 403},
		{"long s", "eve@kio\u017fk.test", true, 403},
		{"no local part", "@company.com", true, 403},
		{"email not a string", []string{"alice@company.com"}, true, 403},
		{"no email", nil, nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{}
			if tc.email != nil {
				claims["email"] = tc.email
			}
			if tc.verified != nil {
				claims["email_verified"] = tc.verified
			}
			before := up.hits()
			c, status, body := loginAs(t, op, p, oidctest.User{Subject: "user", Claims: claims}, "/app")
			if status != tc.want {
				t.Fatalf("%v: %d, want %d: %q", tc.email, status, tc.want, body)
			}
			if tc.want == 200 {
				return
			}
			if !strings.Contains(body, "Access denied") || up.hits() != before {
				t.Errorf("refused: upstream reached or no page: %q", body)
			}
			// An API call with the session gets 403 too, not 401.
			if resp, _ := fetch(t, c, http.MethodGet, p.url+"/app", api); resp.StatusCode != 403 {
				t.Errorf("API call: %d, want 403", resp.StatusCode)
			}
		})
	}
}

// TestProxyGroupAndSubjectRules: --allowed-group (from --groups-claim, a
// string or an array) and --allowed-subject are alternatives.
func TestProxyGroupAndSubjectRules(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--groups-claim", "roles",
		"--allowed-group", "admins", "--allowed-group", "ops", "--allowed-subject", "carol")
	for _, tc := range []struct {
		name   string
		user   oidctest.User
		want   int
		groups string // X-Auth-Request-Groups for 200
	}{
		{"group in an array", oidctest.User{Subject: "bob", Claims: map[string]any{"roles": []string{"dev", "ops"}}}, 200, "dev,ops"},
		{"group as a string", oidctest.User{Subject: "dan", Claims: map[string]any{"roles": "admins"}}, 200, "admins"},
		{"subject", oidctest.User{Subject: "carol"}, 200, ""},
		{"no allowed group", oidctest.User{Subject: "bob", Claims: map[string]any{"roles": []string{"dev"}}}, 403, ""},
		{"group in another claim", oidctest.User{Subject: "eve", Claims: map[string]any{"groups": []string{"admins"}}}, 403, ""},
		{"group names are case-sensitive", oidctest.User{Subject: "eve", Claims: map[string]any{"roles": "Admins"}}, 403, ""},
		{"subject is exact", oidctest.User{Subject: "Carol"}, 403, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, status, body := loginAs(t, op, p, tc.user, "/app")
			if status != tc.want {
				t.Fatalf("%d, want %d: %q", status, tc.want, body)
			}
			if tc.want == 200 {
				got := decodeSeen(t, body)
				if v, _ := got.only(headerUser); v != tc.user.Subject {
					t.Errorf("user %q", got.values(headerUser))
				}
				if vs := got.values(headerGroups); tc.groups != strings.Join(vs, "|") {
					t.Errorf("groups %q, want %q", vs, tc.groups)
				}
			}
		})
	}
}

// TestProxySignOutEndsSession: POST /oauth2/sign_out deletes the session
// on the server: the old cookie is refused afterwards
// (GHSA-f24x-5g9q-753f). The provider's back-channel logout at
// /oauth2/backchannel-logout ends another browser's session of the user.
func TestProxySignOutEndsSession(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL)
	op.AddClient(oidctest.Client{ID: oidctest.DefaultClientID, Secret: oidctest.DefaultClientSecret,
		BackchannelLogoutURI: p.url + "/oauth2/backchannel-logout"})
	a, b := browser(), browser()
	signIn(t, a, p, "/")
	signIn(t, b, p, "/")
	old := sessionCookie(t, a, p)
	withOld := http.Header{"Accept": {"application/json"}, "Cookie": {old.Name + "=" + old.Value}}
	bare := &http.Client{}
	if resp, _ := fetch(t, bare, http.MethodGet, p.url+"/x", withOld); resp.StatusCode != 200 {
		t.Fatalf("the cookie before sign-out: %d", resp.StatusCode)
	}

	if resp, _ := fetch(t, a, http.MethodGet, p.url+"/oauth2/sign_out", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /oauth2/sign_out: %d, want 405", resp.StatusCode)
	}
	if resp, _ := fetch(t, a, http.MethodPost, p.url+"/oauth2/sign_out", http.Header{"Origin": {"http://evil.example"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin sign-out: %d, want 403", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, p.url+"/oauth2/sign_out", nil)
	req.Header.Set("Origin", p.url)
	resp, err := a.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	action, fields, err := oidctest.ParseFormPost(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("sign-out page: %v", err)
	}
	if resp, _ := fetch(t, bare, http.MethodGet, p.url+"/x", withOld); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old cookie after sign-out: %d, want 401", resp.StatusCode)
	}

	// The browser posts to the provider's end_session, which sends a
	// back-channel logout to the proxy for b's session of the same user.
	resp, err = a.PostForm(action, fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	results := op.BackchannelResults()
	if len(results) != 1 || results[0].Status != 200 {
		t.Fatalf("back-channel logout: %+v", results)
	}
	if resp, _ := fetch(t, b, http.MethodGet, p.url+"/x", api); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the other browser after back-channel logout: %d, want 401", resp.StatusCode)
	}
}

// TestProxyDevMode: --dev without OIDC_ISSUER runs the embedded provider,
// which signs in alice; /oauth2/start logs in and lands on return_to.
func TestProxyDevMode(t *testing.T) {
	up := newEcho(t)
	p := startProxy(t, nil, "--upstream", up.URL, "--dev")
	if !strings.Contains(p.log.String(), "development provider") {
		t.Errorf("no warning about the development provider:\n%s", p.log)
	}
	c := browser()
	resp, body := fetch(t, c, http.MethodGet, p.url+"/oauth2/start?return_to=/landing", nil)
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/landing" {
		t.Fatalf("/oauth2/start: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	if v, _ := decodeSeen(t, body).only(headerUser); v != "alice" {
		t.Errorf("user %q", v)
	}
}

// TestProxyRefusesToStart: without OIDC_ISSUER and without --dev, and on
// other configuration errors, the proxy exits with status 1 and one line
// naming the flag or variable, before it listens.
func TestProxyRefusesToStart(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"no issuer, no --dev", nil, []string{"--upstream", "http://127.0.0.1:1"}, []string{"OIDC_ISSUER", "--dev"}},
		{"--dev with an issuer", map[string]string{"OIDC_ISSUER": "https://idp.example.com", "OIDC_CLIENT_ID": "x"},
			[]string{"--upstream", "http://127.0.0.1:1", "--dev"}, []string{"--dev", "OIDC_ISSUER"}},
		{"no upstream", nil, []string{"--dev"}, []string{"--upstream"}},
		{"unanchored regexp", nil, []string{"--dev", "--upstream", "http://127.0.0.1:1", "--public-route", "GET ^/api/.*/status"}, []string{"--public-route"}},
		{"forward auth without a trusted proxy", nil, []string{"--dev", "--forward-auth"}, []string{"--forward-auth", "--trusted-proxy", "headers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := runToExit(t, tc.env, tc.args...)
			if status != 1 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "oidcmw-proxy: ") {
				t.Fatalf("exit %d, output %q: want 1 and one line", status, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%q does not name %s", out, w)
				}
			}
		})
	}
}

// TestProxyPassFlags: --pass-authorization passes the client's
// Authorization; --pass-access-token sends the user's access token, never
// the client's.
func TestProxyPassFlags(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--pass-authorization", "--pass-access-token")
	c := browser()
	signIn(t, c, p, "/")
	hdr := spoofed.Clone()
	hdr["Authorization"] = []string{"Bearer from-the-client"}
	_, body := fetch(t, c, http.MethodGet, p.url+"/x", hdr)
	got := decodeSeen(t, body)
	if v, ok := got.only("Authorization"); !ok || v != "Bearer from-the-client" {
		t.Errorf("Authorization: %q", got.values("Authorization"))
	}
	if v, ok := got.only(headerAccessToken); !ok || v == "" || strings.Contains(v, "spoof") {
		t.Errorf("%s: %q", headerAccessToken, got.values(headerAccessToken))
	}
	if hs := got.containing("spoof"); len(hs) > 0 {
		t.Errorf("client headers reached the upstream: %q", hs)
	}
}

// TestProxyMetrics: METRICS=prometheus serves /oauth2/metrics with the
// login count.
func TestProxyMetrics(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	env := opEnv(op)
	env["METRICS"] = "prometheus"
	p := startProxy(t, env, "--upstream", up.URL)
	c := browser()
	signIn(t, c, p, "/")
	resp, body := fetch(t, c, http.MethodGet, p.url+"/oauth2/metrics", nil)
	if resp.StatusCode != 200 || !regexp.MustCompile(`oidcmw_logins_total\{[^}]*outcome="success"[^}]*\} 1\n`).MatchString(body) {
		t.Errorf("/oauth2/metrics: %d\n%s", resp.StatusCode, body)
	}
}

// TestProxySessionsInRedis: with REDIS_URL and one SESSION_SECRET, two
// proxies share the sessions: a login at one is good at the other.
func TestProxySessionsInRedis(t *testing.T) {
	rs := redistest.Start(t)
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	env := opEnv(op)
	env["REDIS_URL"] = "unix://" + rs.Sock
	env["SESSION_SECRET"] = strings.Repeat("s", 32)
	a := startProxy(t, env, "--upstream", up.URL)
	b := startProxy(t, env, "--upstream", up.URL)
	if resp, body := fetch(t, browser(), http.MethodGet, a.url+"/oauth2/readyz", nil); resp.StatusCode != 200 {
		t.Fatalf("/oauth2/readyz on Redis: %d %q", resp.StatusCode, body)
	}
	c := browser()
	signIn(t, c, a, "/")
	// Cookies do not tell ports apart: the jar sends a's cookie to b.
	resp, body := fetch(t, c, http.MethodGet, b.url+"/x", api)
	if resp.StatusCode != 200 {
		t.Fatalf("the other instance: %d %q", resp.StatusCode, body)
	}
	if v, _ := decodeSeen(t, body).only(headerUser); v != "alice" {
		t.Errorf("the other instance passed user %q", v)
	}
}

// TestProxySIGTERMDrains: at SIGTERM the proxy stops taking connections,
// the request in flight gets the upstream's answer, and it exits 0.
func TestProxySIGTERMDrains(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	up := newEcho(t)
	p := startProxy(t, opEnv(op), "--upstream", up.URL, "--public-route", "GET /slow")
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(p.url + "/slow")
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-up.slow
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case <-p.exited:
		t.Fatalf("exited with a request in flight: %v", p.exitErr)
	default:
	}
	close(up.release)
	if status := <-answered; status != 200 {
		t.Errorf("the request in flight got %d", status)
	}
	<-p.exited
	if p.exitErr != nil {
		t.Errorf("exit after SIGTERM: %v\n%s", p.exitErr, p.log)
	}
}
