package pgxstore_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/adapters/pgxstore"
	"github.com/oidcmw/oidcmw/internal/pgtest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestStoreOutage: with PostgreSQL stopped (a private cluster of the
// test's own) the guard fails closed with 503 within the statement
// timeout, never a login loop; after a restart the session works again
// without restarting the app.
func TestStoreOutage(t *testing.T) {
	pg := pgtest.Start(t)
	cfg, err := pgxpool.ParseConfig(pg.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.ConnectTimeout = time.Second
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store, err := pgxstore.New(pool, pgxstore.Options{StatementTimeout: time.Second, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
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

	pg.Stop()
	start := time.Now()
	if status, _ := get(); status != http.StatusServiceUnavailable {
		t.Fatalf("database down: %d, want 503", status)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("database down answered after %v (statement timeout 1 s)", d)
	}

	pg.Start()
	if status, body := get(); status != 200 || body != "ok" {
		t.Fatalf("database back: %d %q", status, body)
	}
}
