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
