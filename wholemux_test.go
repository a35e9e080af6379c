package oidcmw_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestGuardAroundWholeMux: http.Serve(ln, m.Guard(mux)) with the callback
// in the mux logs in: the guard lets the callback's path through instead of
// guarding it (which looped: "stopped after 10 redirects").
func TestGuardAroundWholeMux(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := httptest.NewUnstartedServer(nil)
	var logs syncBuffer
	m, err := oidcmw.New(oidcmw.Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret, RedirectURL: "http://" + app.Listener.Addr().String() + "/auth/callback",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/callback", m.Callback)
	mux.HandleFunc("/elsewhere/callback", m.Callback)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Subject)
	})
	app.Config.Handler = m.Guard(mux)
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	req, _ := http.NewRequest(http.MethodGet, app.URL+"/dashboard", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello alice" {
		t.Fatalf("login through a guarded mux: %d %q", resp.StatusCode, body)
	}

	// A callback mounted on another path is a configuration error, logged
	// once with both paths.
	for range 2 {
		resp, err := c.Get(app.URL + "/elsewhere/callback?state=x")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if n := strings.Count(logs.String(), "config_callback_path"); n != 1 || !strings.Contains(logs.String(), "/elsewhere/callback") {
		t.Errorf("%d configuration errors logged:\n%s", n, logs.String())
	}
}

// navigate GETs u as a browser navigation with c and returns the final
// status and body.
func navigateWith(t *testing.T, c *http.Client, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Accept", "text/html")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// TestRoutesUnderWholeMuxGuard: m.Routes() mounted once serves login,
// callback, logout and back-channel logout; a guard around the whole mux
// lets exactly those paths through and guards everything else, prefixes
// and look-alikes of them included.
func TestRoutesUnderWholeMuxGuard(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	app := httptest.NewUnstartedServer(nil)
	m, err := oidcmw.New(oidcmw.Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret, RedirectURL: "http://" + app.Listener.Addr().String() + "/auth/callback",
		PostLogoutRedirectURL: "http://" + app.Listener.Addr().String() + "/bye",
		Logger:                slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", m.Routes())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id, ok := oidcmw.FromContext(r.Context())
		if !ok {
			fmt.Fprint(w, "unguarded "+r.URL.Path)
			return
		}
		fmt.Fprintf(w, "hello %s", id.Subject)
	})
	app.Config.Handler = m.Guard(mux)
	app.Start()
	defer app.Close()

	// Not one of the four paths: guarded, so a navigation starts a login
	// (the client stops at the provider's redirect), never served bare.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/auth/callback/x", "/auth/callbackx", "/auth/other", "/auth/", "/auth/login/", "/dashboard"} {
		status, body := navigateWith(t, noFollow, app.URL+p)
		if status != http.StatusFound || strings.Contains(body, "unguarded") {
			t.Errorf("%s under the guard: %d %q, want a login (302)", p, status, body)
		}
	}

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	// /auth/login is served by Routes behind the guard.
	if status, body := navigateWith(t, c, app.URL+"/auth/login?return_to=/dashboard"); status != http.StatusOK || body != "hello alice" {
		t.Fatalf("login through Routes under a whole-mux guard: %d %q", status, body)
	}
	if n := op.Count("/authorize"); n != 1 {
		t.Errorf("%d authorization requests for one login, want 1 (the guard must not guard /auth/login)", n)
	}
	// Logout through Routes: the form page for the provider's end_session.
	req, _ := http.NewRequest(http.MethodPost, app.URL+"/auth/logout", nil)
	req.Header.Set("Origin", app.URL)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	action, _, err := oidctest.ParseFormPost(resp.Body)
	resp.Body.Close()
	if err != nil || action != op.URL+"/end_session" {
		t.Fatalf("logout through Routes: %d, form to %q (%v)", resp.StatusCode, action, err)
	}
	if status, _ := navigateWith(t, noFollow, app.URL+"/dashboard"); status != http.StatusFound {
		t.Errorf("after logout /dashboard: %d, want a new login", status)
	}
	// The back-channel endpoint is reached with no session and answers
	// for itself (no logout token: 400), not with the guard's 401.
	resp, err = http.PostForm(app.URL+"/auth/backchannel-logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("back-channel logout without a token: %d, want 400 from the endpoint", resp.StatusCode)
	}
}

// TestProvidersGuardAroundWholeMux: Providers.Guard around the whole mux
// lets every provider's paths and the chooser page through.
func TestProvidersGuardAroundWholeMux(t *testing.T) {
	opA := oidctest.NewServer(oidctest.Config{User: oidctest.User{Subject: "alice"}})
	defer opA.Close()
	opB := oidctest.NewServer(oidctest.Config{User: oidctest.User{Subject: "bob"}})
	defer opB.Close()
	app := httptest.NewUnstartedServer(nil)
	base := "http://" + app.Listener.Addr().String()
	store := oidcmw.NewMemoryStore(nil)
	mux := http.NewServeMux()
	newM := func(name string, op *oidctest.Server) *oidcmw.Middleware {
		m, err := oidcmw.New(oidcmw.Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID,
			ClientSecret: oidctest.DefaultClientSecret, RedirectURL: base + "/auth/" + name + "/callback",
			Store: store, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		mux.Handle("/auth/"+name+"/", m.Routes())
		return m
	}
	ps, err := oidcmw.NewProviders("/choose?from=guard", newM("a", opA), newM("b", opB))
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/choose", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "choose") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "hello %s", id.Subject)
	})
	app.Config.Handler = ps.Guard(mux)
	app.Start()
	defer app.Close()

	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	if status, body := navigateWith(t, c, app.URL+"/dashboard"); status != http.StatusOK || body != "choose" {
		t.Fatalf("no session: %d %q, want the chooser page", status, body)
	}
	if status, body := navigateWith(t, c, app.URL+"/auth/b/login?return_to=/dashboard"); status != http.StatusOK || body != "hello bob" {
		t.Fatalf("login at b through a whole-mux Providers.Guard: %d %q", status, body)
	}
}
