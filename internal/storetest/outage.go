package storetest

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// Outage signs a browser in through an app on store, calls stop (the
// store's server goes away), and checks that the guard fails closed with
// 503 (never a login loop) within within; then calls start and checks that
// the session works again without restarting the app.
func Outage(t *testing.T, store oidcmw.Store, stop, start func(), within time.Duration) {
	t.Helper()
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	m, err := oidcmw.New(oidcmw.Options{
		Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL: app.URL + "/auth/callback", Store: store, HTTPClient: op.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("/auth/callback", m.Callback)
	mux.Handle("/", m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })))

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	defer browser.CloseIdleConnections()
	get := func() (int, string) {
		req, _ := http.NewRequest(http.MethodGet, app.URL+"/", nil)
		req.Header.Set("Accept", "text/html")
		resp, err := browser.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(); status != 200 || body != "ok" {
		t.Fatalf("login: %d %q", status, body)
	}

	stop()
	begin := time.Now()
	if status, _ := get(); status != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d, want 503", status)
	}
	if d := time.Since(begin); d > within {
		t.Errorf("store down answered after %v, want within %v", d, within)
	}

	start()
	if status, body := get(); status != 200 || body != "ok" {
		t.Fatalf("store back: %d %q", status, body)
	}
}
