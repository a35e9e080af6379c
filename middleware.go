package oidcmw

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Middleware puts OpenID Connect login in front of HTTP handlers:
// [Middleware.Guard] protects routes, [Middleware.Login] starts a login,
// [Middleware.Callback] completes it, [Middleware.Logout] ends it. Build it
// with [New]; it is immutable and safe for concurrent use.
//
// It only composes its parts, each built once in New from the options it
// needs: discovery (provider metadata and keys), the verifier (ID tokens,
// logout tokens, JARM), the token client (token, PAR, revocation and
// UserInfo endpoints), the sessions (store, records, cookies) and the
// login starter (authorization requests).
type Middleware struct {
	opts    Options
	mode    responseMode
	tenant  tenantRule
	disc    *discovery
	verify  *verifier
	tokens  *tokenClient
	sess    *sessions
	login   *loginStarter
	events  *events
	outages outages            // the circuits of the store and the provider
	logout  http.Handler       // handleLogout behind CrossOriginProtection
	flights singleflight.Group // in-process session updates (refresh), by store key
	lease   time.Duration      // refreshLease of the HTTP client

	paths     ownPaths     // the guard lets them through
	routes    http.Handler // Routes: the paths served by their handlers
	wrongPath sync.Once    // a callback reached on another path is logged once
}

// New validates opts and returns a Middleware. It does no network I/O:
// provider discovery happens on first use, is shared by concurrent
// requests, and is retried after a failure.
func New(opts Options) (*Middleware, error) {
	o, err := opts.normalize()
	if err != nil {
		return nil, err
	}
	if o.ErrorHandler == nil {
		o.ErrorHandler = DefaultErrorHandler
	}
	ev := newEvents(&o)
	// The store and the provider are called through their circuits.
	storeDep := newDependency(depStore, o.CircuitBreaker, o.Logger, ev)
	providerDep := newDependency(depProvider, o.CircuitBreaker, o.Logger, ev)
	o.Store = &breakerStore{Store: o.Store, dep: storeDep}
	o.HTTPClient = withBreaker(o.HTTPClient, providerDep)
	m := &Middleware{opts: o, tenant: tenantRule{template: o.TenantIssuer, allowed: o.AllowedTenants}, events: ev,
		outages: outages{provider: providerDep}}
	m.mode, _ = parseResponseMode(o.ResponseMode) // checked by normalize
	auth, _ := o.clientAuth()                     // checked by normalize
	m.disc = &discovery{issuer: o.Issuer, tenant: m.tenant, clientID: o.ClientID, auth: auth,
		client: o.HTTPClient, limits: o.Limits, now: o.Now, logger: o.Logger}
	m.verify = &verifier{clientID: o.ClientID, now: o.Now, skew: o.ClockSkew,
		maxTokenBytes: o.Limits.MaxTokenBytes, tenant: m.tenant, decryptionKey: o.DecryptionKey}
	if m.tokens, err = newTokenClient(&o, m.verify); err != nil {
		return nil, err
	}
	if m.sess, err = newSessions(&o, m.mode); err != nil {
		return nil, err
	}
	m.login = &loginStarter{issuer: o.Issuer, clientID: o.ClientID, redirectURL: o.RedirectURL,
		scope: strings.Join(o.Scopes, " "), offline: slices.Contains(o.Scopes, "offline_access"),
		mode: m.mode, authParams: o.AuthParams, loginParams: o.LoginParams, omitConsent: o.OmitConsentPrompt,
		maxAge: o.MaxAge, loginTimeout: o.LoginTimeout, dpop: o.DPoP, par: o.PAR, requestObject: o.RequestObject,
		now: o.Now, budget: newLoginBudget(o.MaxOpenLogins, o.LoginTimeout), tokens: m.tokens, sess: m.sess}
	m.logout = http.NewCrossOriginProtection().Handler(http.HandlerFunc(m.handleLogout))
	m.lease = refreshLease(o.HTTPClient)
	u, _ := url.Parse(o.RedirectURL) // checked by normalize
	m.paths = newOwnPaths(u.Path)
	m.routes = m.paths.handler(m)
	return m, nil
}

// newTokenClient builds the token client of o.
func newTokenClient(o *Options, v *verifier) (*tokenClient, error) {
	tc := &tokenClient{client: o.HTTPClient, clientID: o.ClientID, secret: o.ClientSecret, key: o.ClientKey,
		redirectURL: o.RedirectURL, tokenParams: o.TokenParams, maxDoc: o.Limits.MaxDocumentBytes, now: o.Now, verify: v}
	if o.ClientKey == nil {
		return tc, nil
	}
	var err error
	if tc.keyAlg, err = signingAlg(o.ClientKey); err != nil {
		return nil, err
	}
	if tc.keyID = o.ClientKeyID; tc.keyID == "" {
		if tc.keyID, err = thumbprint(o.ClientKey.Public()); err != nil {
			return nil, err
		}
	}
	return tc, nil
}

// newSessions builds the sessions of o: cookies get the __Host- prefix and
// Secure over https (decided by RedirectURL, never by a request).
func newSessions(o *Options, mode responseMode) (*sessions, error) {
	seal, err := newSealer(o.SecretKeys)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.RedirectURL) // checked by normalize
	ss := &sessions{store: o.Store, seal: seal, now: o.Now, logger: o.Logger, idle: o.IdleTimeout,
		absolute: o.AbsoluteTimeout, refreshMargin: o.RefreshMargin, loginTimeout: o.LoginTimeout,
		maxPending: o.MaxPendingLogins, secure: u.Scheme == "https", formPost: mode.formPost()}
	ss.sessionName, ss.loginName = o.CookieName, o.CookieName+"_login"
	if ss.secure {
		ss.sessionName, ss.loginName = "__Host-"+ss.sessionName, "__Host-"+ss.loginName
	}
	return ss, nil
}

// Guard is the middleware: it calls next with the signed-in [Identity] in
// the request context (read it with [FromContext]). Requests for the path
// of Options.RedirectURL go to next untouched, so that a guard around a
// whole mux serves the callback mounted in it; mount BackchannelLogout
// outside the guard (the provider calls it without a session). Without a session, a
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

// Require returns a guard for routes that need req. It behaves like
// [Middleware.Guard] and, when the session does not meet req, starts a new
// login with max_age and acr_values for browser navigations (the callback
// then checks auth_time and acr) or answers API calls 401 with RFC 9470's
// WWW-Authenticate: Bearer error="insufficient_user_authentication".
func (m *Middleware) Require(req Requirement) func(http.Handler) http.Handler {
	req.ACRValues = slices.Clone(req.ACRValues)
	return func(next http.Handler) http.Handler { return m.guard(next, &req) }
}

func (m *Middleware) guard(next http.Handler, req *Requirement) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.paths.has(r.URL.Path) {
			// The callback has no session yet: a guard around the whole
			// mux (http.Serve(ln, m.Guard(mux))) lets it and the other
			// Routes through, or the login would loop.
			next.ServeHTTP(w, r)
			return
		}
		s, err := m.activeSession(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		if s == nil || (req != nil && !req.satisfiedBy(&s.rec.id, m.opts.ClockSkew, m.opts.Now())) {
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
	s, err := m.sess.load(r)
	if err != nil || s == nil || !m.tenant.owns(m.opts.Issuer, s.rec.id.Issuer) {
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
	m.startLogin(w, r, m.login.options(r.URL.Query()))
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

// startLogin saves a pending login bound to this browser by the login
// cookie and redirects to the authorization endpoint.
func (m *Middleware) startLogin(w http.ResponseWriter, r *http.Request, lo loginOptions) {
	ctx := r.Context()
	p, err := m.disc.get(ctx)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	binding := m.sess.browserBinding(r)
	if binding == "" {
		binding = rand.Text()
	}
	target, err := m.login.start(ctx, p, binding, lo)
	if tm := (*tooManyLogins)(nil); errors.As(err, &tm) {
		w.Header().Set("Retry-After", strconv.Itoa(int(tm.retryAfter.Seconds())+1))
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	http.SetCookie(w, m.sess.loginCookie(binding))
	noStore(w)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// Discover fetches the provider's metadata and keys now instead of on
// first use, and reports what is wrong. Call it at start-up: an error
// matching [ErrProviderMisconfigured] is a configuration error (issuer
// mismatch, wrong issuer URL) that retrying will not fix; any other
// ([ErrProviderUnavailable]: unreachable, a 5xx, no usable key) is an
// outage, which the middleware rides out by itself, retrying on later
// requests. Once it has succeeded it returns nil at once. The middleware
// works without it.
func (m *Middleware) Discover(ctx context.Context) error {
	p, err := m.disc.get(ctx)
	if err != nil {
		return err
	}
	return p.keys.ensure(ctx)
}

// UserInfo fetches the provider's UserInfo response for id, with its access
// token in the Authorization header (DPoP-bound when Options.DPoP made it
// so), and checks that its sub is id's. It is what Options.FetchUserInfo
// does at login; call it for fresh claims.
func (m *Middleware) UserInfo(ctx context.Context, id *Identity) (json.RawMessage, error) {
	p, err := m.disc.get(ctx)
	if err != nil {
		return nil, err
	}
	return m.tokens.userInfo(ctx, p, id)
}

// fail logs err with its stable reason code (for alerting; never a token,
// code, verifier, secret or cookie: errors carry none) and hands it to the
// error handler.
func (m *Middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	m.events.failed(r.Context(), err)
	status := StatusCode(err)
	if co := (*circuitOpen)(nil); errors.As(err, &co) {
		w.Header().Set("Retry-After", strconv.Itoa(int((co.retryAfter+time.Second-1)/time.Second)))
	}
	if m.outages.covers(err) {
		// An outage of the store or the provider: its log has it.
	} else if status >= 500 {
		m.opts.Logger.ErrorContext(r.Context(), "oidcmw: request failed", "reason", reasonCode(err),
			"status", status, "path", r.URL.Path, "err", err)
	} else if err != ErrUnauthenticated {
		m.opts.Logger.WarnContext(r.Context(), "oidcmw: request refused", "reason", reasonCode(err),
			"status", status, "path", r.URL.Path, "err", err)
	}
	m.opts.ErrorHandler(w, r, err)
}

func noStore(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}
