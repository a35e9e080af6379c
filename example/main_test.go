package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/redistest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// logBuffer is a concurrency-safe buffer for the app's log.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// running is the example served by run on a free port.
type running struct {
	url  string
	logs *logBuffer
	stop context.CancelFunc
	done chan error // run's result
}

// start runs the example with environ (ADDR defaults to a free port) and
// stops it when the test ends.
func start(t *testing.T, environ map[string]string) *running {
	t.Helper()
	getenv := func(k string) string {
		if k == "ADDR" && environ[k] == "" {
			return "127.0.0.1:0"
		}
		return environ[k]
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{logs: &logBuffer{}, stop: cancel, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		r.done <- run(ctx, getenv, slog.New(slog.NewTextHandler(r.logs, nil)), func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		r.url = "http://" + a
	case err := <-r.done:
		t.Fatalf("run: %v\n%s", err, r.logs)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-r.done; err != nil {
			t.Errorf("run returned %v after the test", err)
		}
	})
	return r
}

// startErr runs the example with environ and returns its error, which a
// configuration error makes immediate.
func startErr(t *testing.T, environ map[string]string) (string, error) {
	t.Helper()
	if environ["ADDR"] == "" {
		environ["ADDR"] = "127.0.0.1:0"
	}
	var logs logBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := run(ctx, func(k string) string { return environ[k] }, slog.New(slog.NewTextHandler(&logs, nil)),
		func(string) { t.Errorf("started with %v", environ); cancel() })
	return logs.String(), err
}

func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 5 * time.Second}
}

func get(t *testing.T, c *http.Client, url, accept string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept", accept)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// signIn logs in at /me (the guard follows the login through the
// provider) and returns the subject.
func signIn(t *testing.T, c *http.Client, app string) string {
	t.Helper()
	resp, body := get(t, c, app+"/me", "text/html")
	var me struct {
		Claims    map[string]any `json:"claims"`
		ExpiresAt *time.Time     `json:"expires_at"`
	}
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &me) != nil || me.ExpiresAt == nil {
		t.Fatalf("/me after login: %d %q", resp.StatusCode, body)
	}
	sub, _ := me.Claims["sub"].(string)
	return sub
}

func TestExampleOnTheDevelopmentProvider(t *testing.T) {
	app := start(t, map[string]string{})
	c := browser()
	if resp, body := get(t, c, app.url+"/", "text/html"); resp.StatusCode != 200 || !strings.Contains(body, "not signed in") {
		t.Fatalf("home: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, app.url+"/me", "application/json"); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("API call without session: %d", resp.StatusCode)
	}
	if sub := signIn(t, c, app.url); sub != "alice" {
		t.Fatalf("signed in as %q", sub)
	}
	if _, body := get(t, c, app.url+"/", "text/html"); !strings.Contains(body, `<strong id="subject">alice</strong>`) {
		t.Errorf("home when signed in: %q", body)
	}
	if !strings.Contains(app.logs.String(), `msg="oidcmw: login"`) {
		t.Errorf("no login record:\n%s", app.logs)
	}

	// Logout answers a page whose form the browser posts to the provider's
	// end_session, which sends it back to /.
	req, _ := http.NewRequest(http.MethodPost, app.url+"/auth/logout", nil)
	req.Header.Set("Origin", app.url)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	action, fields, err := oidctest.ParseFormPost(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("logout page: %v", err)
	}
	resp, err = c.PostForm(action, fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/" {
		t.Errorf("logout ended at %s with %d", resp.Request.URL, resp.StatusCode)
	}
	if resp, _ := get(t, c, app.url+"/me", "application/json"); resp.StatusCode != 401 {
		t.Errorf("after logout /me: %d", resp.StatusCode)
	}
	if resp, body := get(t, c, app.url+"/healthz", "*/*"); resp.StatusCode != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, c, app.url+"/readyz", "*/*"); resp.StatusCode != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q", resp.StatusCode, body)
	}
}

// TestExampleConfigurationErrors: each stops the start with one error
// that names the variable, before anything listens.
func TestExampleConfigurationErrors(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name    string
		environ map[string]string
		want    string
	}{
		{"missing client id", map[string]string{"OIDC_ISSUER": op.URL}, "OIDC_CLIENT_ID is required"},
		{"http issuer off loopback", map[string]string{"OIDC_ISSUER": "http://idp.example.com", "OIDC_CLIENT_ID": "x"}, "OIDC_ISSUER"},
		{"bad boolean", map[string]string{"OIDC_PAR": "yes"}, `OIDC_PAR="yes"`},
		{"bad response mode", map[string]string{"OIDC_RESPONSE_MODE": "fragment"}, "OIDC_RESPONSE_MODE"},
		{"short session secret", map[string]string{"SESSION_SECRET": "short"}, "SESSION_SECRET"},
		{"two stores", map[string]string{"DATABASE_URL": "postgres://x@/y", "REDIS_URL": "redis://127.0.0.1:1/0"}, "both"},
		{"bad Redis URL", map[string]string{"REDIS_URL": "http://x"}, "REDIS_URL"},
		{"unknown metrics", map[string]string{"METRICS": "statsd"}, "METRICS"},
		{"busy port", map[string]string{"ADDR": busy.Addr().String()}, "ADDR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs, err := startErr(t, tc.environ)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "Options.") {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
			if strings.Contains(logs, "listening") {
				t.Errorf("logged listening before failing:\n%s", logs)
			}
		})
	}
	// With OIDC_INSECURE_ALLOW_HTTP the http issuer passes the check (and
	// then the provider is merely unreachable: an outage, not an error).
	t.Run("insecure http allowed", func(t *testing.T) {
		app := start(t, map[string]string{"OIDC_ISSUER": "http://127.0.0.2:1", "OIDC_CLIENT_ID": "x",
			"OIDC_INSECURE_ALLOW_HTTP": "true", "OIDC_REDIRECT_URL": "http://app.lab.test/auth/callback"})
		if resp, _ := get(t, browser(), app.url+"/readyz", "*/*"); resp.StatusCode != 503 {
			t.Errorf("/readyz with the provider unreachable: %d", resp.StatusCode)
		}
	})
}

// TestExampleIssuerMismatch: a discovery whose issuer differs is a
// configuration error, told from an outage.
func TestExampleIssuerMismatch(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	op.Misbehave(oidctest.DiscoveryIssuerMismatch)
	logs, err := startErr(t, map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": "x"})
	if !errors.Is(err, oidcmw.ErrProviderMisconfigured) || !strings.HasPrefix(err.Error(), "OIDC_ISSUER") {
		t.Fatalf("issuer mismatch: %v", err)
	}
	if strings.Contains(logs, "listening") {
		t.Errorf("logged listening:\n%s", logs)
	}
}

// TestExampleJWKSOutageAtStart: the provider's JWKS answers 500 at start.
// The app starts anyway, is alive and not ready, and logins fail with
// 502; once the JWKS answers, it is ready and logins work, without a
// restart.
func TestExampleJWKSOutageAtStart(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	op.Misbehave(oidctest.JWKSDown)
	app := start(t, map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": oidctest.DefaultClientID,
		"OIDC_CLIENT_SECRET": oidctest.DefaultClientSecret})
	if n := strings.Count(app.logs.String(), "level=WARN"); n != 1 || !strings.Contains(app.logs.String(), "dependency=provider") ||
		!strings.Contains(app.logs.String(), "provider not ready") {
		t.Errorf("%d warnings at start, want 1 about the provider:\n%s", n, app.logs)
	}
	c := browser()
	if resp, body := get(t, c, app.url+"/healthz", "*/*"); resp.StatusCode != 200 {
		t.Errorf("/healthz during the outage: %d %q", resp.StatusCode, body)
	}
	if resp, body := get(t, c, app.url+"/readyz", "*/*"); resp.StatusCode != 503 || body != "not ready\nprovider: unavailable\n" {
		t.Errorf("/readyz during the outage: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, app.url+"/me", "text/html"); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("login during the outage: %d, want 502", resp.StatusCode)
	}
	op.Misbehave()
	if resp, body := get(t, c, app.url+"/readyz", "*/*"); resp.StatusCode != 200 {
		t.Errorf("/readyz after the outage: %d %q", resp.StatusCode, body)
	}
	if sub := signIn(t, c, app.url); sub != "alice" {
		t.Errorf("signed in as %q after the outage", sub)
	}
}

// TestExampleRedisDownAtStart: Redis refuses connections at start. The
// app starts, is not ready, answers guarded requests 503; once Redis is
// up, it is ready and logins work. go-redis writes through the app's
// logger.
func TestExampleRedisDownAtStart(t *testing.T) {
	rs := redistest.Start(t)
	rs.Stop()
	app := start(t, map[string]string{"REDIS_URL": "unix://" + rs.Sock})
	if !strings.Contains(app.logs.String(), "Redis not ready") {
		t.Errorf("no warning about Redis at start:\n%s", app.logs)
	}
	c := browser()
	if resp, body := get(t, c, app.url+"/readyz", "*/*"); resp.StatusCode != 503 || !strings.Contains(body, "store: unavailable") {
		t.Errorf("/readyz with Redis down: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, app.url+"/me", "text/html"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("login with Redis down: %d, want 503", resp.StatusCode)
	}
	// More failures open the store's circuit, which /readyz reports.
	for range 5 {
		get(t, c, app.url+"/me", "text/html")
	}
	if resp, body := get(t, c, app.url+"/readyz", "*/*"); resp.StatusCode != 503 || !strings.Contains(body, "store: circuit open") {
		t.Errorf("/readyz with the store's circuit open: %d %q", resp.StatusCode, body)
	}
	rs.Start()
	// The circuit closes at the first request after its cool-down (5 s by
	// default): a login then works.
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, body := get(t, c, app.url+"/me", "text/html")
		if resp.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no login after Redis came back: %d %q", resp.StatusCode, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, body := get(t, c, app.url+"/readyz", "*/*"); body != "ready\n" {
		t.Errorf("/readyz after the store's circuit closed: %q", body)
	}
	for line := range strings.Lines(app.logs.String()) {
		if !strings.HasPrefix(line, "time=") {
			t.Errorf("a log line not from the app's logger: %q", line)
		}
	}
}

// TestExampleSIGTERMDrains: SIGTERM during a request: the server stops
// taking connections, the request in flight gets its answer, and run
// returns nil (exit status 0).
func TestExampleSIGTERMDrains(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := start(t, map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": oidctest.DefaultClientID,
		"OIDC_CLIENT_SECRET": oidctest.DefaultClientSecret})
	op.Misbehave(oidctest.TokenHang) // the callback waits at the token endpoint
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, app.url+"/me", nil)
		req.Header.Set("Accept", "text/html") // a navigation: the guard starts a login
		resp, err := browser().Do(req)        // and follows it to the callback
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	for op.Count("/token") == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Shutdown closes the listener first: new connections are refused.
	for {
		c, err := net.Dial("tcp", strings.TrimPrefix(app.url, "http://"))
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-app.done:
		t.Fatalf("run returned %v with a request in flight", err)
	default:
	}
	op.Close() // the token endpoint gives up; the callback answers
	if status := <-answered; status != http.StatusBadGateway {
		t.Errorf("the request in flight got %d, want its own answer (502)", status)
	}
	if err := <-app.done; err != nil {
		t.Errorf("run after SIGTERM: %v, want nil", err)
	}
	app.done <- nil // for the cleanup
}

// TestExamplePrometheus: METRICS=prometheus serves /metrics with the
// counts of a login and a refused login.
func TestExamplePrometheus(t *testing.T) {
	app := start(t, map[string]string{"METRICS": "prometheus"})
	c := browser()
	signIn(t, c, app.url)
	if resp, _ := get(t, c, app.url+"/auth/callback?state=forged&code=x", "text/html"); resp.StatusCode != 400 {
		t.Fatalf("forged callback: %d", resp.StatusCode)
	}
	_, body := get(t, c, app.url+"/metrics", "text/plain")
	for _, want := range []string{
		`oidcmw_logins_total\{[^}]*outcome="success"[^}]*\} 1\n`,
		`oidcmw_logins_total\{[^}]*outcome="failure"[^}]*reason="state_mismatch"[^}]*\} 1\n`,
	} {
		if !regexp.MustCompile(want).MatchString(body) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

// TestExampleOnPostgreSQL: DATABASE_URL keeps the sessions in PostgreSQL
// (adapters/pgxstore), whose tables the app creates.
func TestExampleOnPostgreSQL(t *testing.T) {
	u := os.Getenv("OIDCMW_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OIDCMW_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL")
		}
		t.Skip("OIDCMW_TEST_POSTGRES_URL is not set")
	}
	app := start(t, map[string]string{"DATABASE_URL": u})
	c := browser()
	if resp, body := get(t, c, app.url+"/readyz", "*/*"); resp.StatusCode != 200 {
		t.Fatalf("/readyz on PostgreSQL: %d %q", resp.StatusCode, body)
	}
	if sub := signIn(t, c, app.url); sub != "alice" {
		t.Fatalf("signed in as %q on PostgreSQL", sub)
	}
}

// TestExampleListensOnEveryAddress: with ADDR on every address
// (0.0.0.0:PORT, as in a container) the default callback and post-logout
// URLs name 127.0.0.1:PORT, where a browser on the machine reaches the
// app, not the unspecified address, which oidcmw refuses as an http URL
// off loopback. (Tests listen on loopback only.)
func TestExampleListensOnEveryAddress(t *testing.T) {
	for addr, want := range map[string]string{"0.0.0.0:8080": "127.0.0.1:8080", "[::]:8080": "127.0.0.1:8080",
		":8080": "127.0.0.1:8080", "127.0.0.1:0": "127.0.0.1:0", "app.lab.test:80": "app.lab.test:80"} {
		if got := browserAddr(addr); got != want {
			t.Errorf("browserAddr(%q) = %q, want %q", addr, got, want)
		}
	}
	opts, err := options(func(string) string { return "" }, "0.0.0.0:8080")
	if err != nil || opts.RedirectURL != "http://127.0.0.1:8080/auth/callback" || opts.PostLogoutRedirectURL != "http://127.0.0.1:8080/" {
		t.Fatalf("options: %v, %q, %q", err, opts.RedirectURL, opts.PostLogoutRedirectURL)
	}
	opts.Issuer, opts.ClientID = "http://127.0.0.1:1", "x" // as the development provider would
	if _, err := oidcmw.New(opts); err != nil {
		t.Errorf("New with the default URLs for 0.0.0.0:8080: %v", err)
	}
}
