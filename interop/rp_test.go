package interop

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oidcmw/oidcmw"
)

// Client ids registered at the OP for every case (see clientsFor).
const (
	clientBasic  = "basic"  // client_secret_basic
	clientPost   = "post"   // client_secret_post
	clientPublic = "public" // token_endpoint_auth_method none: PKCE only
	// client_secret_basic, with backchannel_logout_uri (the RP's
	// /auth/backchannel-logout) and backchannel_logout_session_required
	clientBackchannel = "backchannel"
	// client_secret_basic, with the refresh_token grant and access tokens
	// that live offlineAccessTokenTTL
	clientOffline = "offline"
)

// offlineAccessTokenTTL is how long the OP's access tokens for
// clientOffline live, where the OP lets the suite choose (oidc-provider).
const offlineAccessTokenTTL = 60 * time.Second

// algClients are client_secret_basic clients that differ only in the ID
// token signing algorithm they registered.
var algClients = map[string]string{
	"RS256": "rs256",
	"PS256": "ps256",
	"ES256": "es256",
	"EdDSA": "eddsa",
}

// setup describes one case's RP.
type setup struct {
	needs    []feature // what the case needs from the OP beyond the basics
	clientID string    // default clientBasic
	// host the RP is reached at: "127.0.0.1" (default, same site as the
	// OP) or "localhost" (another site than the OP at 127.0.0.1).
	host string
	opts func(*oidcmw.Options)
	// wrap, when set, wraps the RP's whole handler (to observe or hold
	// requests).
	wrap func(http.Handler) http.Handler
	// recordGrants makes the RP's Options.HTTPClient record every token
	// endpoint request and answer (env.grants), and /me report them.
	recordGrants bool
}

// env is one case: an OP, and an app behind the middleware (the RP) served
// by httptest.
type env struct {
	t     *testing.T
	op    op
	rp    string // the RP's origin as the browser reaches it
	opts  oidcmw.Options
	m     *oidcmw.Middleware
	logs  *syncBuffer
	errMu sync.Mutex
	errs  []error // what the middleware reported to its error handler
	// grants sees the RP's token endpoint traffic; nil unless
	// setup.recordGrants.
	grants *grantRecorder
	bcMu   sync.Mutex
	bc     []int // the status of each request to /auth/backchannel-logout
}

// newEnv starts the RP, then an OP of kind k that has the RP's redirect
// URIs registered, then mounts the middleware:
//
//	/ and /me          the guard, then JSON of the identity (meResponse)
//	/public            no guard; a page with a logout button
//	GET /auth/login    Login
//	/auth/callback     Callback, GET and POST
//	POST /auth/logout  Logout
//	POST /auth/backchannel-logout  BackchannelLogout (statuses in env.bc)
//	GET /favicon.ico   404, so that the browser's icon request does not
//	                   reach the guard (and refresh the session)
//
// It skips the case when the OP lacks one of s.needs, or there is no
// browser.
func newEnv(t *testing.T, k opKind, s setup) *env {
	t.Helper()
	k.require(t, s.needs...)
	requireBrowser(t) // before starting anything: skip early without one
	e := &env{t: t, logs: &syncBuffer{}}
	mux := http.NewServeMux()
	var h http.Handler = mux
	if s.wrap != nil {
		h = s.wrap(mux)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.rp = srv.URL
	if s.host != "" {
		_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
		e.rp = "http://" + net.JoinHostPort(s.host, port)
	}
	secret := randomString(t)
	e.op = k.start(t, clientsFor(e.rp, secret))

	if s.clientID == "" {
		s.clientID = clientBasic
	}
	e.opts = oidcmw.Options{
		Issuer:                e.op.Issuer(),
		ClientID:              s.clientID,
		ClientSecret:          secret,
		RedirectURL:           e.rp + "/auth/callback",
		PostLogoutRedirectURL: e.rp + "/public",
		Logger:                slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			e.errMu.Lock()
			e.errs = append(e.errs, err)
			e.errMu.Unlock()
			oidcmw.DefaultErrorHandler(w, r, err)
		},
	}
	if s.clientID == clientPublic {
		e.opts.ClientSecret = ""
	}
	if s.recordGrants {
		// The default client's overall timeout; the recorder in front
		// of the default transport.
		e.grants = &grantRecorder{next: http.DefaultTransport}
		e.opts.HTTPClient = &http.Client{Transport: e.grants, Timeout: 10 * time.Second}
	}
	if s.opts != nil {
		s.opts(&e.opts)
	}
	m, err := oidcmw.New(e.opts)
	if err != nil {
		t.Fatalf("oidcmw.New: %v", err)
	}
	e.m = m
	t.Cleanup(func() {
		if t.Failed() {
			e.errMu.Lock()
			t.Logf("RP errors: %v", e.errs)
			e.errMu.Unlock()
			t.Logf("RP log:\n%s", e.logs.String())
		}
	})

	me := m.Guard(http.HandlerFunc(e.serveMe))
	mux.Handle("/", me)
	mux.Handle("/me", me)
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!DOCTYPE html><title>public</title><p id="public">public</p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Sign out</button></form>`)
	})
	mux.HandleFunc("GET /auth/login", m.Login)
	mux.HandleFunc("GET /auth/callback", m.Callback)
	mux.HandleFunc("POST /auth/callback", m.Callback)
	mux.HandleFunc("POST /auth/logout", m.Logout)
	mux.Handle("POST /auth/backchannel-logout", e.recordBackchannel(http.HandlerFunc(m.BackchannelLogout)))
	mux.HandleFunc("GET /favicon.ico", http.NotFound)
	return e
}

// recordBackchannel records the status next answers in e.bc, when it
// writes the header: before the OP has the answer, so before the OP lets
// the browser go on.
func (e *env) recordBackchannel(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sr := &statusRecorder{ResponseWriter: w, record: func(status int) {
			e.bcMu.Lock()
			e.bc = append(e.bc, status)
			e.bcMu.Unlock()
		}}
		next.ServeHTTP(sr, r)
		if !sr.done { // nothing written: net/http would send 200
			sr.WriteHeader(http.StatusOK)
		}
	})
}

// backchannelStatuses returns the statuses /auth/backchannel-logout
// answered so far, in order.
func (e *env) backchannelStatuses() []int {
	e.bcMu.Lock()
	defer e.bcMu.Unlock()
	return slices.Clone(e.bc)
}

// statusRecorder reports the status of a response as it is written.
type statusRecorder struct {
	http.ResponseWriter
	record func(status int)
	done   bool
}

func (s *statusRecorder) WriteHeader(status int) {
	if !s.done {
		s.done = true
		s.record(status)
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if !s.done {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

// clientsFor registers every client of the suite for an RP at origin rp.
func clientsFor(rp, secret string) []client {
	base := client{
		ClientSecret:           secret,
		RedirectURIs:           []string{rp + "/auth/callback"},
		PostLogoutRedirectURIs: []string{rp + "/public"},
	}
	with := func(id string, f func(*client)) client {
		c := base
		c.ClientID = id
		f(&c)
		return c
	}
	cs := []client{
		with(clientBasic, func(c *client) { c.TokenEndpointAuthMethod = "client_secret_basic" }),
		with(clientPost, func(c *client) { c.TokenEndpointAuthMethod = "client_secret_post" }),
		with(clientPublic, func(c *client) { c.TokenEndpointAuthMethod, c.ClientSecret = "none", "" }),
		with(clientBackchannel, func(c *client) {
			c.TokenEndpointAuthMethod = "client_secret_basic"
			c.BackchannelLogoutURI = rp + "/auth/backchannel-logout"
			c.BackchannelLogoutSessionRequired = true
		}),
		with(clientOffline, func(c *client) {
			c.TokenEndpointAuthMethod = "client_secret_basic"
			c.GrantTypes = []string{"authorization_code", "refresh_token"}
			c.AccessTokenTTL = int(offlineAccessTokenTTL / time.Second)
		}),
	}
	for alg, id := range algClients {
		cs = append(cs, with(id, func(c *client) {
			c.TokenEndpointAuthMethod = "client_secret_basic"
			c.IDTokenSignedResponseAlg = alg
		}))
	}
	return cs
}

func randomString(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// meResponse is what / and /me answer for the signed-in user.
type meResponse struct {
	Path    string          `json:"path"` // request URI
	Subject string          `json:"subject"`
	Issuer  string          `json:"issuer"`
	Claims  json.RawMessage `json:"claims"`
	// The ID token's JOSE header, to tell which key signed it.
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	// Fingerprints of the session's tokens (see fingerprint), never the
	// tokens.
	AccessToken  string `json:"access_token_sha256"`
	RefreshToken string `json:"refresh_token_sha256,omitempty"`
	// Refreshes counts the refresh_token grants the RP sent so far (with
	// setup.recordGrants).
	Refreshes int `json:"refreshes"`
}

func (e *env) serveMe(w http.ResponseWriter, r *http.Request) {
	id, ok := oidcmw.FromContext(r.Context())
	if !ok {
		http.Error(w, "no identity", http.StatusInternalServerError)
		return
	}
	resp := meResponse{
		Path: r.URL.RequestURI(), Subject: id.Subject, Issuer: id.Issuer, Claims: id.RawClaims,
		AccessToken: fingerprint(id.AccessToken), RefreshToken: fingerprint(id.RefreshToken),
	}
	if e.grants != nil {
		resp.Refreshes = e.grants.count("refresh_token")
	}
	if head, _, ok := strings.Cut(id.IDToken, "."); ok {
		if b, err := base64.RawURLEncoding.DecodeString(head); err == nil {
			var h struct{ Alg, Kid string }
			if json.Unmarshal(b, &h) == nil {
				resp.Alg, resp.Kid = h.Alg, h.Kid
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp)
}

// me reads the meResponse the tab shows.
func (e *env) me(ctx context.Context) meResponse {
	e.t.Helper()
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('pre') || document.body).textContent`))
	if err != nil {
		e.t.Fatalf("read page: %v", err)
	}
	var m meResponse
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		e.t.Fatalf("page is not the /me JSON: %v\n%s", err, text)
	}
	return m
}

// login starts at path on the RP, signs in as user at the OP, and checks
// that the browser lands back on path, signed in as the OP's subject for
// user.
func (e *env) login(ctx context.Context, path, user string) meResponse {
	e.t.Helper()
	navigate(e.t, ctx, e.rp+path)
	if _, steps := browse(e.t, ctx, e.op, user, at(e.rp+path)); len(steps) > 0 && steps[0] != "login" {
		e.t.Fatalf("login at %s went through %v, want the OP's login form first", path, steps)
	}
	m := e.me(ctx)
	sub := e.op.account(user).subject
	if m.Subject != sub || m.Path != path || m.Issuer != e.op.Issuer() {
		e.t.Fatalf("after login at %s: %+v, want subject %q at %q", path, m, sub, path)
	}
	return m
}

// lastErr is the last error the middleware reported, or nil.
func (e *env) lastErr() error {
	e.errMu.Lock()
	defer e.errMu.Unlock()
	if len(e.errs) == 0 {
		return nil
	}
	return e.errs[len(e.errs)-1]
}

// mustURL parses u.
func mustURL(t *testing.T, u string) *url.URL {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu
}
