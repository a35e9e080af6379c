package oidcmw_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/storetest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// newClock is the settable clock shared by the middleware and the test OP.
func newClock() *storetest.Clock { return storetest.NewClock(time.Unix(1_800_000_000, 0)) }

// harness is an app behind the middleware, a test OP, and a browser-like
// client (cookie jar, redirects not followed).
type harness struct {
	t       *testing.T
	op      *oidctest.Server
	app     *httptest.Server
	m       *oidcmw.Middleware
	store   *oidcmw.MemoryStore
	clock   *storetest.Clock
	browser *http.Client
	calls   atomic.Int32 // how often the protected handler ran
	opts    oidcmw.Options
	logs    *syncBuffer

	errMu sync.Mutex
	errs  []error // every error the error handler saw
}

// lastErr is the last error the middleware reported.
func (h *harness) lastErr() error {
	h.errMu.Lock()
	defer h.errMu.Unlock()
	if len(h.errs) == 0 {
		return nil
	}
	return h.errs[len(h.errs)-1]
}

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type setup struct {
	op    oidctest.Config
	opts  func(*oidcmw.Options)
	https bool // serve the app over TLS
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	h := &harness{t: t, clock: newClock(), logs: &syncBuffer{}}
	if s.op.Now == nil {
		s.op.Now = h.clock.Now
	}
	h.op = oidctest.NewServer(s.op)
	t.Cleanup(h.op.Close)

	mux := http.NewServeMux()
	if s.https {
		h.app = httptest.NewTLSServer(mux)
	} else {
		h.app = httptest.NewServer(mux)
	}
	t.Cleanup(h.app.Close)

	h.store = oidcmw.NewMemoryStore(h.clock.Now)
	h.opts = oidcmw.Options{
		Issuer:       h.op.URL,
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL:  h.app.URL + "/auth/callback",
		Store:        h.store,
		Now:          h.clock.Now,
		HTTPClient:   &http.Client{Timeout: 2 * time.Second},
		Logger:       slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	h.opts.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		h.errMu.Lock()
		h.errs = append(h.errs, err)
		h.errMu.Unlock()
		oidcmw.DefaultErrorHandler(w, r, err)
	}
	if s.opts != nil {
		s.opts(&h.opts)
	}
	m, err := oidcmw.New(h.opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	h.m = m
	protected := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.calls.Add(1)
		id, ok := oidcmw.FromContext(r.Context())
		if !ok {
			http.Error(w, "no identity", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello %s", id.Subject)
	})
	mux.Handle("/", m.Guard(protected))
	mux.HandleFunc("GET /auth/login", m.Login)
	mux.HandleFunc("/auth/callback", m.Callback)
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "public") })
	h.browser = h.newBrowser()
	t.Cleanup(h.checkLogsHoldNoSecret)
	return h
}

// checkLogsHoldNoSecret fails the test when anything the middleware logged
// contains a secret it handled: codes, verifiers, tokens, client
// credentials, the browser's cookies. It runs after every harness test, so
// the whole suite is checked.
func (h *harness) checkLogsHoldNoSecret() {
	logs := h.logs.String()
	var secrets []string
	for _, r := range h.op.Requests() {
		for _, k := range []string{"code", "code_verifier", "refresh_token", "client_secret", "token", "logout_token"} {
			secrets = append(secrets, r.Form[k]...)
		}
		if a := r.Header.Get("Authorization"); a != "" {
			_, cred, _ := strings.Cut(a, " ")
			secrets = append(secrets, cred)
		}
	}
	secrets = append(secrets, h.opts.ClientSecret)
	if u, err := url.Parse(h.app.URL); err == nil {
		for _, c := range h.browser.Jar.Cookies(u) {
			secrets = append(secrets, c.Value)
		}
	}
	for _, s := range secrets {
		if len(s) >= 8 && strings.Contains(logs, s) {
			h.t.Errorf("a secret (%.4s...) is in the log:\n%s", s, logs)
			return
		}
	}
}

func (h *harness) newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return h.newBrowserWithJar(jar)
}

// newBrowserWithJar is a browser sharing jar (another tab).
func (h *harness) newBrowserWithJar(jar http.CookieJar) *http.Client {
	c := h.app.Client()
	return &http.Client{
		Transport:     c.Transport,
		Jar:           jar,
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends a request with the given client and returns the response with
// its body read.
func do(t *testing.T, c *http.Client, method, u string, hdr map[string]string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var htmlAccept = map[string]string{"Accept": "text/html,application/xhtml+xml"}

// navigate is a browser GET of an app path.
func (h *harness) navigate(c *http.Client, path string) (*http.Response, string) {
	h.t.Helper()
	return do(h.t, c, http.MethodGet, h.app.URL+path, htmlAccept, nil)
}

// startLogin navigates to path without a session and returns the
// authorization URL the guard redirected to.
func (h *harness) startLogin(c *http.Client, path string) string {
	h.t.Helper()
	resp, _ := h.navigate(c, path)
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("GET %s: status %d, want 302 to the provider", path, resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, h.op.URL+"/authorize?") {
		h.t.Fatalf("GET %s redirected to %q, want the authorization endpoint", path, loc)
	}
	return loc
}

// authorize visits the OP and returns the callback URL it redirected to.
func (h *harness) authorize(c *http.Client, authURL string) string {
	h.t.Helper()
	resp, body := do(h.t, c, http.MethodGet, authURL, htmlAccept, nil)
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: status %d: %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// callback delivers the authorization response to the app.
func (h *harness) callback(c *http.Client, callbackURL string) (*http.Response, string) {
	h.t.Helper()
	return do(h.t, c, http.MethodGet, callbackURL, htmlAccept, nil)
}

// login runs a whole login from path and fails the test unless it lands
// back on path signed in.
func (h *harness) login(c *http.Client, path string) {
	h.t.Helper()
	resp, body := h.callback(c, h.authorize(c, h.startLogin(c, path)))
	if resp.StatusCode != http.StatusSeeOther {
		h.t.Fatalf("callback: status %d, want 303: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Location"); got != path {
		h.t.Fatalf("callback redirected to %q, want %q", got, path)
	}
	resp, body = h.navigate(c, path)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "hello ") {
		h.t.Fatalf("after login GET %s: %d %q", path, resp.StatusCode, body)
	}
}

// signedIn reports whether c has a session.
func (h *harness) signedIn(c *http.Client) bool {
	h.t.Helper()
	resp, _ := do(h.t, c, http.MethodGet, h.app.URL+"/me", map[string]string{"Accept": "application/json"}, nil)
	return resp.StatusCode == http.StatusOK
}

// withParam returns u with one query parameter replaced (or removed when
// value is empty).
func withParam(t *testing.T, u, key, value string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	q := pu.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	pu.RawQuery = q.Encode()
	return pu.String()
}

// endSession reads the end-session request a logout answered: the form
// page the browser posts (the default), or a redirect's Location
// (the default, and without an end_session_endpoint). It returns the
// target without query and all the parameters.
func endSession(t *testing.T, resp *http.Response, body string) (target string, params url.Values) {
	t.Helper()
	if resp.StatusCode == http.StatusOK {
		action, fields, err := oidctest.ParseFormPost(strings.NewReader(body))
		if err != nil {
			t.Fatalf("logout page: %v", err)
		}
		return action, fields
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	params = u.Query()
	u.RawQuery = ""
	return u.String(), params
}
