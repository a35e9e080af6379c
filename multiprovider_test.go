package oidcmw_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// TestProviders: two providers in one app; a session from either passes
// Providers.Guard, is refreshed at its own provider, and a login started
// for one provider cannot be completed at the other's callback (mix-up).
func TestMultipleProviders(t *testing.T) {
	clk := newClock()
	// Neither sends RFC 9207 iss: the pending login's issuer is the only defence.
	opA := oidctest.NewServer(oidctest.Config{Now: clk.Now, User: oidctest.User{Subject: "alice"}, DisableIssParameter: true})
	defer opA.Close()
	opB := oidctest.NewServer(oidctest.Config{Now: clk.Now, User: oidctest.User{Subject: "bob"}, DisableIssParameter: true})
	defer opB.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	store := oidcmw.NewMemoryStore(clk.Now)
	var errs []error
	newM := func(name string, op *oidctest.Server) *oidcmw.Middleware {
		m, err := oidcmw.New(oidcmw.Options{
			Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
			RedirectURL: app.URL + "/auth/" + name + "/callback", Store: store, Now: clk.Now,
			Logger: slog.New(slog.DiscardHandler),
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				errs = append(errs, err)
				oidcmw.DefaultErrorHandler(w, r, err)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		mux.HandleFunc("/auth/"+name+"/login", m.Login)
		mux.HandleFunc("/auth/"+name+"/callback", m.Callback)
		return m
	}
	mA, mB := newM("a", opA), newM("b", opB)
	ps, err := oidcmw.NewProviders("/choose", mA, mB)
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/", ps.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		fmt.Fprintf(w, "%s@%s", id.Subject, strings.TrimPrefix(id.Issuer, "http://"))
	})))
	mux.Handle("/only-a/", mA.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))

	h := &harness{t: t, app: app}
	browser := h.newBrowser()
	resp, _ := do(t, browser, http.MethodGet, app.URL+"/dashboard", htmlAccept, nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/choose?return_to=%2Fdashboard" {
		t.Fatalf("no session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := do(t, browser, http.MethodGet, app.URL+"/dashboard", jsonAccept, nil); resp.StatusCode != 401 {
		t.Fatalf("API without session: %d", resp.StatusCode)
	}

	// Mix-up: a login started at A, its response delivered to B's callback.
	resp, _ = do(t, browser, http.MethodGet, app.URL+"/auth/a/login?return_to=/x", htmlAccept, nil)
	resp, _ = do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil)
	toB := strings.Replace(resp.Header.Get("Location"), "/auth/a/callback", "/auth/b/callback", 1)
	if resp, _ := do(t, browser, http.MethodGet, toB, htmlAccept, nil); resp.StatusCode != 400 || !errors.Is(errs[len(errs)-1], oidcmw.ErrIssuerMismatch) {
		t.Fatalf("A's response at B's callback: %d %v", resp.StatusCode, errs)
	}
	if n := opB.Count("/token"); n != 0 {
		t.Fatalf("A's code went to B's token endpoint (%d requests)", n)
	}

	// A login at B: Providers.Guard serves it, A's own guard does not.
	resp, _ = do(t, browser, http.MethodGet, app.URL+"/auth/b/login?return_to=/dashboard", htmlAccept, nil)
	resp, _ = do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil)
	if resp, _ := do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback at B: %d %v", resp.StatusCode, errs)
	}
	if _, body := do(t, browser, http.MethodGet, app.URL+"/dashboard", jsonAccept, nil); body != "bob@"+strings.TrimPrefix(opB.URL, "http://") {
		t.Fatalf("guarded page: %q", body)
	}
	if resp, _ := do(t, browser, http.MethodGet, app.URL+"/only-a/", jsonAccept, nil); resp.StatusCode != 401 {
		t.Fatalf("A's guard with B's session: %d", resp.StatusCode)
	}
	// Refreshed at B.
	clk.Advance(time.Hour - 10*time.Second)
	if resp, _ := do(t, browser, http.MethodGet, app.URL+"/dashboard", jsonAccept, nil); resp.StatusCode != 200 ||
		refreshGrants(opB) != 1 || refreshGrants(opA) != 0 {
		t.Fatalf("refresh: %d, B %d, A %d", resp.StatusCode, refreshGrants(opB), refreshGrants(opA))
	}
}

// TestProvidersOwnTimeouts: behind Providers.Guard a session ends by the
// timeouts of the provider it belongs to, not the first one's, and its
// Identity.SessionExpiry says so.
func TestProvidersOwnTimeouts(t *testing.T) {
	clk := newClock()
	opA := oidctest.NewServer(oidctest.Config{Now: clk.Now})
	defer opA.Close()
	opB := oidctest.NewServer(oidctest.Config{Now: clk.Now})
	defer opB.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	store := oidcmw.NewMemoryStore(clk.Now)
	newM := func(name string, op *oidctest.Server, idle time.Duration) *oidcmw.Middleware {
		m, err := oidcmw.New(oidcmw.Options{
			Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
			RedirectURL: app.URL + "/auth/" + name + "/callback", Store: store, Now: clk.Now,
			IdleTimeout: idle, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		mux.HandleFunc("/auth/"+name+"/login", m.Login)
		mux.HandleFunc("/auth/"+name+"/callback", m.Callback)
		return m
	}
	ps, err := oidcmw.NewProviders("/choose", newM("a", opA, 10*time.Minute), newM("b", opB, 0))
	if err != nil {
		t.Fatal(err)
	}
	var expiry time.Time
	mux.Handle("/", ps.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := oidcmw.FromContext(r.Context())
		expiry = id.SessionExpiry
	})))
	h := &harness{t: t, app: app}
	browser := h.newBrowser()
	resp, _ := do(t, browser, http.MethodGet, app.URL+"/auth/b/login?return_to=/", htmlAccept, nil)
	resp, _ = do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil)
	do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil)
	clk.Advance(20 * time.Minute) // past A's idle timeout, far from B's 24 h
	if resp, _ := do(t, browser, http.MethodGet, app.URL+"/", jsonAccept, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("B's session after 20 idle minutes: %d", resp.StatusCode)
	}
	if want := clk.Now().Add(24 * time.Hour); !expiry.Equal(want) { // touched just now
		t.Errorf("SessionExpiry %v, want B's idle timeout %v", expiry, want)
	}
}

// TestLogoutByOwnerOnly: one provider's logout never acts on another
// provider's session at that provider: A's logout ends B's session locally
// and sends nothing to A (no revocation of B's refresh token, no B ID
// token as id_token_hint); Providers.Logout hands the request to B.
func TestLogoutByOwnerOnly(t *testing.T) {
	clk := newClock()
	opA := oidctest.NewServer(oidctest.Config{Now: clk.Now, User: oidctest.User{Subject: "alice"}})
	defer opA.Close()
	opB := oidctest.NewServer(oidctest.Config{Now: clk.Now, User: oidctest.User{Subject: "bob"}})
	defer opB.Close()
	mux := http.NewServeMux()
	app := httptest.NewServer(mux)
	defer app.Close()
	store := oidcmw.NewMemoryStore(clk.Now)
	newM := func(name string, op *oidctest.Server) *oidcmw.Middleware {
		m, err := oidcmw.New(oidcmw.Options{
			Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
			RedirectURL: app.URL + "/auth/" + name + "/callback", Store: store, Now: clk.Now,
			RevokeOnLogout: true, Logger: slog.New(slog.DiscardHandler),
		})
		if err != nil {
			t.Fatal(err)
		}
		mux.HandleFunc("/auth/"+name+"/login", m.Login)
		mux.HandleFunc("/auth/"+name+"/callback", m.Callback)
		mux.HandleFunc("POST /auth/"+name+"/logout", m.Logout)
		return m
	}
	mA, mB := newM("a", opA), newM("b", opB)
	ps, err := oidcmw.NewProviders("/choose", mA, mB)
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("POST /auth/logout", ps.Logout)
	mux.Handle("/", ps.Guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	h := &harness{t: t, app: app}
	loginAtB := func() *http.Client {
		browser := h.newBrowser()
		resp, _ := do(t, browser, http.MethodGet, app.URL+"/auth/b/login?return_to=/", htmlAccept, nil)
		resp, _ = do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil)
		if resp, _ := do(t, browser, http.MethodGet, resp.Header.Get("Location"), htmlAccept, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("callback at B: %d", resp.StatusCode)
		}
		return browser
	}
	origin := map[string]string{"Origin": app.URL}

	// B's session at A's logout: ended here, nothing to A.
	browser := loginAtB()
	resp, _ := do(t, browser, http.MethodPost, app.URL+"/auth/a/logout", origin, nil)
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || strings.Contains(loc, "id_token_hint") ||
		strings.HasPrefix(loc, opA.URL) {
		t.Fatalf("A's logout of B's session: %d to %q", resp.StatusCode, loc)
	}
	if n := opA.Count("/revoke"); n != 0 {
		t.Fatalf("B's refresh token was sent to A's revocation endpoint (%d requests)", n)
	}
	if resp, _ := do(t, browser, http.MethodGet, app.URL+"/", jsonAccept, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("B's session survived A's logout: %d", resp.StatusCode)
	}

	// Providers.Logout: B's session is ended at B.
	browser = loginAtB()
	resp, body := do(t, browser, http.MethodPost, app.URL+"/auth/logout", origin, nil)
	if target, params := endSession(t, resp, body); !strings.HasPrefix(target, opB.URL) || params.Get("id_token_hint") == "" {
		t.Fatalf("Providers.Logout: %d to %q, want B's end-session endpoint with the hint", resp.StatusCode, target)
	}
	if opA.Count("/revoke") != 0 || opB.Count("/revoke") != 1 {
		t.Fatalf("revocations: A %d, B %d", opA.Count("/revoke"), opB.Count("/revoke"))
	}
}
