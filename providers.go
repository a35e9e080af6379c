package oidcmw

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// Providers puts several providers in front of one app ("Sign in with
// Google" next to the company's IdP). Build one [Middleware] per provider,
// each with its own RedirectURL (callback) and all with the same Store,
// CookieName and SecretKeys; mount each one's Login and Callback; then
// guard routes with Providers.Guard, which accepts a session from any of
// them and refreshes it through the provider that issued it.
//
// Each pending login records the issuer it was started for, and a callback
// refuses a login started for another provider (RFC 9700 §4.4, mix-up): a
// code is only ever redeemed at the provider that issued it. A provider's
// own Guard ignores sessions of the others.
type Providers struct {
	ms        []*Middleware
	loginURL  string
	loginPath string // loginURL without its query
}

// NewProviders combines ms. loginURL is where browsers without a session
// are sent to choose a provider (a page of yours linking to each Login);
// the guarded URL is appended as return_to.
func NewProviders(loginURL string, ms ...*Middleware) (*Providers, error) {
	if len(ms) == 0 {
		return nil, errors.New("oidcmw: NewProviders needs at least one Middleware")
	}
	for _, m := range ms[1:] {
		if baseStore(m.opts.Store) != baseStore(ms[0].opts.Store) || m.sess.sessionName != ms[0].sess.sessionName {
			return nil, errors.New("oidcmw: the providers' Middlewares must share Store and CookieName")
		}
	}
	if safeReturnTo(loginURL) != loginURL {
		return nil, errors.New("oidcmw: NewProviders loginURL must be a same-origin path")
	}
	loginPath, _, _ := strings.Cut(loginURL, "?")
	return &Providers{ms: ms, loginURL: loginURL, loginPath: loginPath}, nil
}

// Guard is [Middleware.Guard] for sessions of any of the providers.
// Browser navigations without a session are redirected (302) to loginURL
// with return_to; API calls get 401. It lets through, with no session,
// loginURL's path and each provider's own paths (see [Middleware.Routes]),
// so that it can wrap the whole mux.
func (ps *Providers) Guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ps.passes(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		first := ps.ms[0]
		s, err := first.sess.load(r)
		if err != nil {
			first.fail(w, r, err)
			return
		}
		if m := ps.owner(s); m != nil {
			// The session ends by its owner's timeouts, not the first's.
			s.rec.id.SessionExpiry = m.sess.end(&s.rec)
			s, err = m.maintain(r.Context(), s)
			switch {
			case err == nil:
				next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), s.id)))
				return
			case !errors.Is(err, errSessionEnded):
				m.fail(w, r, err)
				return
			}
		}
		if !isNavigation(r) {
			w.Header().Set("WWW-Authenticate", `OIDC realm="oidcmw"`)
			first.fail(w, r, ErrUnauthenticated)
			return
		}
		noStore(w)
		w.Header().Set("Location", ps.loginURL+"?return_to="+url.QueryEscape(safeReturnTo(r.URL.RequestURI())))
		w.WriteHeader(http.StatusFound)
	})
}

// passes reports whether the guard lets p through with no session: every
// provider's own paths (see [Middleware.Routes]) and loginURL's.
func (ps *Providers) passes(p string) bool {
	if p == ps.loginPath {
		return true
	}
	for _, m := range ps.ms {
		if m.paths.has(p) {
			return true
		}
	}
	return false
}

// owner is the provider's middleware that s belongs to; nil for none.
func (ps *Providers) owner(s *liveSession) *Middleware {
	if s == nil {
		return nil
	}
	for _, m := range ps.ms {
		if m.tenant.owns(m.opts.Issuer, s.rec.id.Issuer) {
			return m
		}
	}
	return nil
}

// Logout is [Middleware.Logout] for sessions of any of the providers: the
// request goes to the provider that issued the session, so that its
// end-session request, id_token_hint and token revocation reach that
// provider only. A request without a session (or with one of none of the
// providers) is ended by the first provider's Logout, locally. Mount it
// for POST; cross-origin requests get 403.
func (ps *Providers) Logout(w http.ResponseWriter, r *http.Request) {
	m := ps.ms[0]
	if s, err := m.sess.load(r); err == nil {
		if owner := ps.owner(s); owner != nil {
			m = owner
		}
	}
	m.Logout(w, r)
}
