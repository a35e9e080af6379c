package bench

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// newBrowser returns a client that acts as a new user: an empty cookie jar,
// redirects not followed. tr is shared between browsers so that loopback
// connections are reused rather than dialled for every login.
func newBrowser(tb testing.TB, tr http.RoundTripper) *http.Client {
	tb.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Client{
		Transport:     tr,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// navigate is a browser GET. It reads the body to the end so that the
// connection goes back to the pool, and returns the status, the Location
// header and the body.
func navigate(tb testing.TB, c *http.Client, u string) (status int, location, body string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("GET %s: reading body: %v", u, err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// protectedPath is the guarded page of every app in this package.
const protectedPath = "/me"

// login runs one whole login as a browser would, and fails unless every
// step answers as expected: the guarded page redirects to the provider
// (302), the provider redirects to the callback (302), the callback
// redirects back (303), and the guarded page then greets the user (200).
func login(tb testing.TB, c *http.Client, appURL, opURL string) {
	tb.Helper()
	status, loc, body := navigate(tb, c, appURL+protectedPath)
	if status != http.StatusFound || !strings.HasPrefix(loc, opURL+"/authorize?") {
		tb.Fatalf("GET %s: %d to %q, want 302 to the authorization endpoint: %s", protectedPath, status, loc, body)
	}
	status, loc, body = navigate(tb, c, loc)
	if status != http.StatusFound || !strings.HasPrefix(loc, appURL+"/auth/callback?") {
		tb.Fatalf("authorize: %d to %q, want 302 to the callback: %s", status, loc, body)
	}
	status, loc, body = navigate(tb, c, loc)
	if status != http.StatusSeeOther || loc != protectedPath {
		tb.Fatalf("callback: %d to %q, want 303 to %s: %s", status, loc, protectedPath, body)
	}
	status, _, body = navigate(tb, c, appURL+protectedPath)
	if status != http.StatusOK || body != "hello alice" {
		tb.Fatalf("GET %s after login: %d %q, want 200 \"hello alice\"", protectedPath, status, body)
	}
}
