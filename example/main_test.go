package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw/oidctest"
)

// start serves the example app with the given environment on a free port.
func start(t *testing.T, environ map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	h, closeApp, err := newApp(func(k string) string { return environ[k] }, srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeApp)
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
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

func TestExampleOnTheDevelopmentProvider(t *testing.T) {
	app := start(t, nil)
	c := browser()
	if resp, body := get(t, c, app.URL+"/", "text/html"); resp.StatusCode != 200 || !strings.Contains(body, "not signed in") {
		t.Fatalf("home: %d %q", resp.StatusCode, body)
	}
	if resp, _ := get(t, c, app.URL+"/me", "application/json"); resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("API call without session: %d", resp.StatusCode)
	}
	resp, body := get(t, c, app.URL+"/me", "text/html") // follows the login
	var me struct {
		Claims    map[string]any `json:"claims"`
		ExpiresAt *time.Time     `json:"expires_at"`
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		json.Unmarshal([]byte(body), &me) != nil || me.Claims["sub"] != "alice" || me.ExpiresAt == nil {
		t.Fatalf("/me after login: %d %q", resp.StatusCode, body)
	}
	if _, body := get(t, c, app.URL+"/", "text/html"); !strings.Contains(body, `<strong id="subject">alice</strong>`) {
		t.Errorf("home when signed in: %q", body)
	}

	// Logout answers a page whose form the browser posts to the provider's
	// end_session, which sends it back to /.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/auth/logout", nil)
	req.Header.Set("Origin", app.URL)
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
	if resp, _ := get(t, c, app.URL+"/me", "application/json"); resp.StatusCode != 401 {
		t.Errorf("after logout /me: %d", resp.StatusCode)
	}
}

func TestExampleFailsFastOnBadConfiguration(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	op.Misbehave(oidctest.DiscoveryIssuerMismatch)
	env := map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": "x"}
	_, _, err := newApp(func(k string) string { return env[k] }, "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("issuer mismatch: %v", err)
	}
	env = map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": "x", "SESSION_SECRET": "short"}
	if _, _, err := newApp(func(k string) string { return env[k] }, "127.0.0.1:0"); err == nil {
		t.Fatal("a short SESSION_SECRET was accepted")
	}
}

// TestExampleLogsSignIn: the post-login hook reads the new identity with
// oidcmw.FromContext and logs who signed in, never a token.
func TestExampleLogsSignIn(t *testing.T) {
	var buf bytes.Buffer
	log.SetOutput(&buf)
	defer log.SetOutput(os.Stderr)
	app := start(t, nil)
	if resp, _ := get(t, browser(), app.URL+"/me", "text/html"); resp.StatusCode != 200 {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	if !strings.Contains(buf.String(), `signed in: sub "alice"`) {
		t.Fatalf("log: %q", buf.String())
	}
}

// TestExampleOnPostgreSQL: DATABASE_URL keeps the sessions in PostgreSQL
// (adapters/pgxstore); with REDIS_URL too it refuses to start.
func TestExampleOnPostgreSQL(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://x@/y", "REDIS_URL": "redis://127.0.0.1:1/0"}
	if _, _, err := newApp(func(k string) string { return env[k] }, "127.0.0.1:0"); err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("both stores: %v", err)
	}
	u := os.Getenv("OIDCMW_TEST_POSTGRES_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OIDCMW_TEST_POSTGRES_URL is not set; .ci/run starts PostgreSQL")
		}
		t.Skip("OIDCMW_TEST_POSTGRES_URL is not set")
	}
	app := start(t, map[string]string{"DATABASE_URL": u})
	c := browser()
	if resp, body := get(t, c, app.URL+"/me", "text/html"); resp.StatusCode != 200 || !strings.Contains(body, `"sub": "alice"`) && !strings.Contains(body, `"sub":"alice"`) {
		t.Fatalf("/me after login on PostgreSQL: %d %q", resp.StatusCode, body)
	}
}
