package redisstore_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/redisstore"
	"github.com/oidcmw/oidcmw/internal/redistest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestStoreOutage: with Redis gone the guard fails closed with 503 (never a
// login loop), quickly; when Redis is back the session works again without
// restarting the app; no goroutine is left behind.
func TestStoreOutage(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	rs := redistest.Start(t)
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	rc := redis.NewClient(&redis.Options{Network: "unix", Addr: rs.Sock,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second,
		WriteTimeout: time.Second, PoolTimeout: time.Second, MaxRetries: -1})
	defer rc.Close()
	m, err := oidcmw.New(oidcmw.Options{
		Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL: app.URL + "/auth/callback", Store: redisstore.New(rc),
		HTTPClient: op.Client(),
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

	rs.Stop()
	start := time.Now()
	if status, _ := get(); status != http.StatusServiceUnavailable {
		t.Fatalf("store down: %d, want 503", status)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("store down answered after %v", d)
	}

	rs.Start()
	if status, body := get(); status != 200 || body != "ok" {
		t.Fatalf("store back: %d %q", status, body)
	}
}
