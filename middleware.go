package oidcmw

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// Middleware puts OpenID Connect login in front of HTTP handlers: [Middleware.Guard]
// protects routes, [Middleware.Login] starts a login, [Middleware.Callback] completes it,
// [Middleware.Logout] ends it. Build it
// with [New]; it is immutable and safe for concurrent use.
type Middleware struct {
	opts         Options
	secure       bool   // RedirectURL is https: Secure cookies, __Host- prefix
	sessionName  string // session cookie name
	loginName    string // login (browser binding) cookie name prefix
	callbackPath string
	disc         discovery
	logout       http.Handler       // handleLogout behind CrossOriginProtection
	seal         *sealer            // nil: records stored as they are
	flights      singleflight.Group // in-process session updates (refresh), by store key
	nonces       dpopNonces         // the token endpoint's DPoP nonce
	clientAlg    jose.SignatureAlgorithm
	clientKID    string
}

// New validates opts and returns a Middleware. It does no network I/O:
// provider discovery happens on first use, is shared by concurrent
// requests, and is retried after a failure.
func New(opts Options) (*Middleware, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.RedirectURL) // checked by normalize
	seal, err := newSealer(o.SecretKeys)
	if err != nil {
		return nil, err
	}
	m := &Middleware{opts: o, secure: u.Scheme == "https", callbackPath: u.EscapedPath(), seal: seal}
	if o.ClientKey != nil {
		if m.clientAlg, err = signingAlg(o.ClientKey); err != nil {
			return nil, err
		}
		if m.clientKID = o.ClientKeyID; m.clientKID == "" {
			if m.clientKID, err = thumbprint(o.ClientKey.Public()); err != nil {
				return nil, err
			}
		}
	}
	if m.callbackPath == "" {
		m.callbackPath = "/"
	}
	m.logout = http.NewCrossOriginProtection().Handler(http.HandlerFunc(m.handleLogout))
	m.sessionName, m.loginName = o.CookieName, o.CookieName+"_login"
	if m.secure {
		m.sessionName, m.loginName = "__Host-"+m.sessionName, "__Host-"+m.loginName
	}
	return m, nil
}

// Guard is the middleware: it calls next with the signed-in [Identity] in
// the request context (read it with [FromContext]). Without a session, a
// browser navigation (GET or HEAD that accepts text/html, not a fetch or
// XHR) is redirected to the provider to log in and comes back to the same
// URL; any other request gets 401 with WWW-Authenticate through the error
// handler. When the guard starts a login, next is not called.
//
// On the way, the guard ends sessions past their idle or absolute timeout
// and refreshes an access token that expires within Options.RefreshMargin
// (once for all concurrent requests of the session). A refresh the
// provider refuses (invalid_grant), or whose ID token names another
// subject, ends the session; a provider outage is ridden out while the
// access token is valid, then answered with 503.
func (m *Middleware) Guard(next http.Handler) http.Handler { return m.guard(next, nil) }

func (m *Middleware) guard(next http.Handler, req *Requirement) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.activeSession(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		if s == nil || (req != nil && !m.satisfies(&s.rec, req)) {
			m.unauthenticated(w, r, s != nil, req)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), s.id)))
	})
}

// unauthenticated starts a login for a browser navigation and answers 401
// to anything else: RFC 9470's insufficient_user_authentication when a
// session exists but does not meet req.
func (m *Middleware) unauthenticated(w http.ResponseWriter, r *http.Request, hasSession bool, req *Requirement) {
	if isNavigation(r) {
		lo := loginOptions{returnTo: safeReturnTo(r.URL.RequestURI())}
		if req != nil {
			lo.maxAge, lo.acr = req.MaxAge, req.ACRValues
		}
		m.startLogin(w, r, lo)
		return
	}
	if hasSession && req != nil {
		w.Header().Set("WWW-Authenticate", req.challenge())
		m.fail(w, r, ErrInsufficientAuthentication)
		return
	}
	w.Header().Set("WWW-Authenticate", `OIDC realm="oidcmw"`)
	m.fail(w, r, ErrUnauthenticated)
}

// activeSession is the request's session after timeouts and refresh; nil
// when there is none, or when it belongs to another provider's middleware
// sharing the store (see [Providers]).
func (m *Middleware) activeSession(r *http.Request) (*liveSession, error) {
	s, err := m.loadSession(r)
	if err != nil || s == nil || !m.owns(s.rec.id.Issuer) {
		return nil, err
	}
	s, err = m.maintain(r.Context(), s)
	if errors.Is(err, errSessionEnded) {
		return nil, nil
	}
	return s, err
}

// Optional is a middleware for pages that serve everyone: with a session it
// puts the [Identity] into the context like [Middleware.Guard] (refreshing
// it the same way); without one it calls next all the same and never starts
// a login. A store failure answers 503, as in the guard.
func (m *Middleware) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := m.activeSession(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		if s != nil {
			r = r.WithContext(NewContext(r.Context(), s.id))
		}
		next.ServeHTTP(w, r)
	})
}

// Login starts a login (GET or HEAD). The return_to query parameter names
// where to land afterwards; it is kept only when it is a same-origin
// relative path, else the user lands on "/". Parameters named in
// Options.LoginParams are passed on to the provider.
func (m *Middleware) Login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	lo := loginOptions{returnTo: safeReturnTo(q.Get("return_to"))}
	for _, name := range m.opts.LoginParams {
		if v := q.Get(name); v != "" && len(v) <= 256 && !hasControl(v) {
			if lo.params == nil {
				lo.params = url.Values{}
			}
			lo.params.Set(name, v)
		}
	}
	m.startLogin(w, r, lo)
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return c < ' ' || c == 0x7f }) >= 0
}

// isNavigation tells a top-level browser navigation from an API call:
// Sec-Fetch-Mode when the browser sends it, else X-Requested-With and
// Accept.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" && mode != "navigate" {
		return false
	}
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// startLogin saves a pending login (fresh state, nonce and PKCE verifier,
// keyed by state, bound to this browser by the login cookie) and redirects
// to the authorization endpoint.
func (m *Middleware) startLogin(w http.ResponseWriter, r *http.Request, lo loginOptions) {
	ctx := r.Context()
	p, err := m.provider(ctx)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	binding := m.browserBinding(r)
	if binding == "" {
		binding = rand.Text()
	}
	maxAge := m.opts.MaxAge
	if lo.maxAge > 0 {
		maxAge = lo.maxAge
	}
	var dk *dpopKey
	if m.opts.DPoP {
		if dk, err = newDPoPKey(); err != nil {
			m.fail(w, r, err)
			return
		}
	}
	rec := pendingRecord{
		issuer:   m.opts.Issuer,
		dpop:     dk.marshal(),
		state:    rand.Text(),
		binding:  binding,
		nonce:    rand.Text(),
		verifier: oauth2.GenerateVerifier(),
		returnTo: lo.returnTo,
		maxAge:   int64(maxAge.Seconds()),
		acr:      strings.Join(lo.acr, " "),
		expires:  m.opts.Now().Add(m.opts.LoginTimeout).UnixNano(),
	}
	// The record outlives LoginTimeout a little so that a late callback is
	// told "expired" rather than "unknown state".
	pkey := pendingKey(rec.state)
	if err := m.opts.Store.Put(ctx, pkey, m.seal.seal(rec.marshal(), pkey), m.opts.LoginTimeout+pendingGrace); err != nil {
		m.fail(w, r, storeError(err))
		return
	}
	if err := m.capPending(ctx, binding, rec.state); err != nil {
		m.fail(w, r, err)
		return
	}
	http.SetCookie(w, m.loginCookie(binding))

	params := url.Values{
		"response_type":         {"code"},
		"client_id":             {m.opts.ClientID},
		"redirect_uri":          {m.opts.RedirectURL},
		"scope":                 {strings.Join(m.opts.Scopes, " ")},
		"state":                 {rec.state},
		"nonce":                 {rec.nonce},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(rec.verifier)},
		"code_challenge_method": {"S256"},
	}
	if m.opts.ResponseMode != "query" {
		params.Set("response_mode", m.opts.ResponseMode)
	}
	if rec.maxAge > 0 {
		params.Set("max_age", strconv.FormatInt(rec.maxAge, 10))
	}
	if rec.acr != "" {
		params.Set("acr_values", rec.acr)
	}
	for _, set := range []url.Values{m.opts.AuthParams, lo.params} {
		for k, vs := range set {
			params[k] = vs
		}
	}
	// OIDC Core §11: offline_access needs consent; providers that follow it
	// (oidc-provider, Keycloak) issue no refresh token without prompt=consent.
	if slices.Contains(m.opts.Scopes, "offline_access") && !params.Has("prompt") && !m.opts.OmitConsentPrompt {
		params.Set("prompt", "consent")
	}
	target, err := m.authorizationURL(ctx, p, params)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	noStore(w)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// loginOptions are what a login is started with.
type loginOptions struct {
	returnTo string
	maxAge   time.Duration // step-up; 0: Options.MaxAge
	acr      []string      // step-up acr_values
	params   url.Values    // per-request parameters from Options.LoginParams
}

// capPending keeps the list of one browser's pending states and drops the
// oldest beyond MaxPendingLogins. The list is advisory: losing an update to
// a concurrent login only loosens the cap; every pending login still
// expires.
func (m *Middleware) capPending(ctx context.Context, binding, state string) error {
	st := m.opts.Store
	key := bindingKey(binding)
	b, _, err := st.Get(ctx, key)
	if err != nil {
		return storeError(err)
	}
	states := append(strings.Fields(string(b)), state)
	if drop := len(states) - m.opts.MaxPendingLogins; drop > 0 {
		for _, s := range states[:drop] {
			if err := st.Delete(ctx, pendingKey(s)); err != nil {
				return storeError(err)
			}
		}
		states = slices.Delete(states, 0, drop)
	}
	if err := st.Put(ctx, key, []byte(strings.Join(states, " ")), m.opts.LoginTimeout+pendingGrace); err != nil {
		return storeError(err)
	}
	return nil
}

// fail logs err with its stable reason code (for alerting; never a token,
// code, verifier, secret or cookie: errors carry none) and hands it to the
// error handler.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusCode(err)
	if status >= 500 {
		m.opts.Logger.ErrorContext(r.Context(), "oidcmw: request failed", "reason", reasonCode(err),
			"status", status, "path", r.URL.Path, "err", err)
	} else if err != ErrUnauthenticated {
		m.opts.Logger.WarnContext(r.Context(), "oidcmw: request refused", "reason", reasonCode(err),
			"status", status, "path", r.URL.Path, "err", err)
	}
	m.opts.ErrorHandler(w, r, err)
}

// record is what sessionRecord and pendingRecord have in common.
type record interface{ unmarshal([]byte) error }

// decode opens a stored value (when records are sealed) and parses it.
func (m *Middleware) decode(b []byte, key string, rec record) error {
	plain, err := m.seal.open(b, key)
	if err != nil {
		return err
	}
	return rec.unmarshal(plain)
}

// pendingGrace is how long a pending login record outlives LoginTimeout.
const pendingGrace = time.Minute

func storeError(err error) error { return &storeFailure{err} }

type storeFailure struct{ err error }

func (e *storeFailure) Error() string        { return "oidcmw: session store unavailable: " + e.err.Error() }
func (e *storeFailure) Is(target error) bool { return target == ErrStoreUnavailable }
func (e *storeFailure) Unwrap() error        { return e.err }

// Store keys. A session is stored under a hash of its cookie value, so a
// copy of the store holds no usable cookie.
const (
	sessionKeyPrefix = "oidcmw:s:"
	sessionKeyLen    = len(sessionKeyPrefix) + 43 // base64 of a SHA-256
)

func sessionKey(token string) string {
	return string(appendSessionKey(make([]byte, 0, sessionKeyLen), token))
}

func appendSessionKey(b []byte, token string) []byte {
	sum := sha256.Sum256([]byte(token))
	b = append(b, sessionKeyPrefix...)
	return base64.RawURLEncoding.AppendEncode(b, sum[:])
}

// cookieValue returns the value of the named cookie without the
// allocations of http.Request.Cookie; "" when there is none.
func cookieValue(r *http.Request, name string) string {
	for _, line := range r.Header["Cookie"] {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			n, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if ok && n == name {
				return v
			}
		}
	}
	return ""
}

func pendingKey(state string) string   { return "oidcmw:p:" + state }
func bindingKey(binding string) string { return "oidcmw:b:" + binding }

// validToken reports whether s looks like a value of crypto/rand.Text: 26
// characters of the base32 alphabet. Anything else is not looked up.
func validToken(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}
