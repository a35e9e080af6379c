package bench

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// scopes are oidcmw's default scopes, used by every client here so that
// the provider does the same work for each.
var scopes = []string{oidc.ScopeOpenID, "profile", "email"}

// greet is the guarded page of the oidcmw app. It writes without
// allocating, so that the allocations BenchmarkGuard counts above
// impl=nethttp are the middleware's.
func greet(w http.ResponseWriter, r *http.Request) {
	id, ok := oidcmw.FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	io.WriteString(w, "hello ")
	io.WriteString(w, id.Subject)
}

// oidcmwApp is an app behind oidcmw with its defaults, except that the
// store is returned to the caller and warnings and errors are logged to tb
// (benchmark logs are always printed, so the per-request Info records of
// back-channel logout are left out).
type oidcmwApp struct {
	srv   *httptest.Server
	m     *oidcmw.Middleware
	store oidcmw.Store
}

// newOIDCMWApp serves an oidcmw app; opts may set Store, SecretKeys, Now
// and the like (default: a MemoryStore, records not sealed).
func newOIDCMWApp(tb testing.TB, issuer string, opts oidcmw.Options) *oidcmwApp {
	tb.Helper()
	mux := http.NewServeMux()
	if opts.Store == nil {
		opts.Store = oidcmw.NewMemoryStore(nil)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = rpClient()
		tb.Cleanup(opts.HTTPClient.CloseIdleConnections)
	}
	a := &oidcmwApp{srv: httptest.NewServer(mux), store: opts.Store}
	tb.Cleanup(a.srv.Close)
	opts.Issuer = issuer
	opts.ClientID = oidctest.DefaultClientID
	opts.ClientSecret = oidctest.DefaultClientSecret
	opts.RedirectURL = a.srv.URL + "/auth/callback"
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(tbWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	m, err := oidcmw.New(opts)
	if err != nil {
		tb.Fatalf("oidcmw.New: %v", err)
	}
	a.m = m
	mux.Handle(protectedPath, m.Guard(http.HandlerFunc(greet)))
	mux.HandleFunc("/auth/callback", m.Callback)
	return a
}

// tbWriter sends log output to the benchmark's log, shown on failure.
type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}

// handwritten is the login Go users write themselves, after the
// golang.org/x/oauth2 and coreos/go-oidc examples: an scs session (in
// memory), the authorization code flow with state, nonce and PKCE S256, the
// ID token verified by go-oidc, the session token renewed after login.
type handwritten struct {
	srv      *httptest.Server
	client   *http.Client // to the provider
	sm       *scs.SessionManager
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// newHandwritten starts the app. Discovery runs here, once.
func newHandwritten(tb testing.TB, issuer string) *handwritten {
	tb.Helper()
	h := &handwritten{sm: scs.New(), client: rpClient()}
	tb.Cleanup(h.client.CloseIdleConnections)
	h.sm.Store = memstore.New()
	mux := http.NewServeMux()
	mux.HandleFunc(protectedPath, h.guard)
	mux.HandleFunc("/auth/callback", h.callback)
	h.srv = httptest.NewServer(h.sm.LoadAndSave(mux))
	tb.Cleanup(h.srv.Close)

	provider, err := oidc.NewProvider(oidc.ClientContext(tb.Context(), h.client), issuer)
	if err != nil {
		tb.Fatalf("oidc.NewProvider: %v", err)
	}
	h.oauth = &oauth2.Config{
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  h.srv.URL + "/auth/callback",
		Scopes:       scopes,
	}
	h.verifier = provider.Verifier(&oidc.Config{ClientID: oidctest.DefaultClientID})
	return h
}

// guard greets a signed-in user, or starts a login.
func (h *handwritten) guard(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if sub := h.sm.GetString(ctx, "sub"); sub != "" {
		io.WriteString(w, "hello "+sub)
		return
	}
	state, nonce, verifier := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	h.sm.Put(ctx, "state", state)
	h.sm.Put(ctx, "nonce", nonce)
	h.sm.Put(ctx, "verifier", verifier)
	h.sm.Put(ctx, "return_to", r.URL.RequestURI())
	u := h.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce))
	http.Redirect(w, r, u, http.StatusFound)
}

// callback completes a login. Error texts go to the client only because
// the one client is the benchmark, which prints them when it fails.
func (h *handwritten) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	state := h.sm.PopString(ctx, "state")
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1 {
		http.Error(w, "state mismatch", http.StatusBadRequest)
		return
	}
	if e := q.Get("error"); e != "" {
		http.Error(w, "login failed", http.StatusUnauthorized)
		return
	}
	tok, err := h.oauth.Exchange(oidc.ClientContext(ctx, h.client), q.Get("code"), oauth2.VerifierOption(h.sm.PopString(ctx, "verifier")))
	if err != nil {
		http.Error(w, fmt.Sprintf("exchange: %v", err), http.StatusBadGateway)
		return
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok {
		http.Error(w, "no id_token", http.StatusBadGateway)
		return
	}
	idt, err := h.verifier.Verify(ctx, raw)
	if err != nil {
		http.Error(w, fmt.Sprintf("id_token: %v", err), http.StatusUnauthorized)
		return
	}
	nonce := h.sm.PopString(ctx, "nonce")
	if nonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(idt.Nonce)) != 1 {
		http.Error(w, "nonce mismatch", http.StatusUnauthorized)
		return
	}
	if err := h.sm.RenewToken(ctx); err != nil {
		http.Error(w, "session", http.StatusInternalServerError)
		return
	}
	h.sm.Put(ctx, "sub", idt.Subject)
	h.sm.Put(ctx, "id_token", raw)
	h.sm.Put(ctx, "access_token", tok.AccessToken)
	h.sm.Put(ctx, "refresh_token", tok.RefreshToken)
	returnTo := h.sm.PopString(ctx, "return_to")
	if returnTo == "" {
		returnTo = "/"
	}
	http.Redirect(w, r, returnTo, http.StatusSeeOther)
}

// rpClient is a relying party's own HTTP client to the provider, with its
// own connection pool, as a separate app would have.
func rpClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
