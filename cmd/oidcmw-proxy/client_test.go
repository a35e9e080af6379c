package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw/oidctest"
)

// opEnv is the environment of a proxy for op's default client.
func opEnv(op *oidctest.Server) map[string]string {
	return map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": oidctest.DefaultClientID,
		"OIDC_CLIENT_SECRET": oidctest.DefaultClientSecret}
}

// browser is a client with a cookie jar that follows redirects.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second}
}

// fetch sends a request with hdr (set as given, spelling kept) and returns
// the final response and its body.
func fetch(t *testing.T, c *http.Client, method, url string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// navigation and api are the headers of a browser navigation (the guard
// starts a login) and of an API call (the guard answers 401).
var (
	navigation = http.Header{"Accept": {"text/html"}}
	api        = http.Header{"Accept": {"application/json"}}
)

// signIn opens path through the proxy as a navigation, which logs in at
// the provider and comes back, and returns what the upstream got.
func signIn(t *testing.T, c *http.Client, p *proc, path string) seen {
	t.Helper()
	resp, body := fetch(t, c, http.MethodGet, p.url+path, navigation)
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != path {
		t.Fatalf("signing in at %s: %d at %s: %q", path, resp.StatusCode, resp.Request.URL, body)
	}
	return decodeSeen(t, body)
}

// sessionCookie is the proxy's session cookie in c's jar.
func sessionCookie(t *testing.T, c *http.Client, p *proc) *http.Cookie {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.url, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		if ck.Name == cookieName {
			return ck
		}
	}
	t.Fatalf("no %s cookie", cookieName)
	return nil
}

// raw sends one request exactly as written (request line and header
// lines, without the final CRLFs) on a new connection to p and returns
// the status and body.
func raw(t *testing.T, p *proc, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(p.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, strings.ReplaceAll(request, "\n", "\r\n")+"\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
