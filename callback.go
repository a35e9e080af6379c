package oidcmw

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Callback completes a login. Mount it at the path of Options.RedirectURL
// for GET (response_mode query) or POST (form_post); do not put it behind
// CSRF middleware: the form_post request is cross-site by design, and state
// bound to the login cookie is what protects it.
//
// It takes the pending login named by state (one-time: a replayed callback
// finds nothing), checks it belongs to this browser and has not expired,
// then runs [Middleware.AuthorizationCodeGrant]. Only when every check has
// passed does it create a new session (a session cookie planted before login
// is discarded) and answer 303 to the page the login started from, with no
// body, Cache-Control: no-store and Referrer-Policy: no-referrer. Any
// failure goes to the error handler and creates nothing.
func (m *Middleware) Callback(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	if r.URL.Path != m.paths.callback {
		m.wrongPath.Do(func() {
			m.opts.Logger.ErrorContext(r.Context(), "oidcmw: the callback is mounted on another path than Options.RedirectURL's",
				"reason", "config_callback_path", "path", r.URL.Path, "redirect_url_path", m.paths.callback)
		})
	}
	ctx := r.Context()
	fail := func(err error) {
		m.events.login(ctx, nil, 0, err)
		m.fail(w, r, err)
	}
	if want := map[bool]string{false: http.MethodGet, true: http.MethodPost}[m.mode.formPost()]; r.Method != want {
		fail(ErrInvalidCallback)
		return
	}
	params, p, err := m.authorizationResponse(ctx, r)
	if err != nil {
		fail(err)
		return
	}
	rec, err := m.sess.takeLogin(r, params.Get("state"), m.opts.Issuer)
	if err != nil {
		fail(err)
		return
	}
	checks := Checks{State: rec.state, CodeVerifier: rec.codeVerifier, Nonce: rec.nonce,
		MaxAge: secondsDuration(rec.maxAge), ACRValues: strings.Fields(rec.acr), IDTokenExpected: true}
	dk, err := parseDPoPKey(rec.dpop)
	if err != nil {
		fail(ErrStateMismatch)
		return
	}
	tokens, err := m.tokens.grant(ctx, p, params, checks, nil, dk, m.mode.jarm())
	if err == nil && m.opts.FetchUserInfo {
		id := tokens.identity()
		tokens.userinfo, err = m.tokens.userInfo(ctx, p, &id)
	}
	if err == nil && m.opts.AfterLogin != nil {
		id := tokens.identity()
		if hookErr := m.opts.AfterLogin(NewContext(ctx, &id), &id); hookErr != nil {
			err = fmt.Errorf("%w: %w", ErrLoginRefused, hookErr)
		}
	}
	if err == nil { // every check passed: a new session under a new id
		err = m.sess.create(w, r, &sessionRecord{id: tokens.identity(), sid: tokens.sid})
	}
	if err != nil {
		fail(err)
		return
	}
	id := tokens.identity()
	started := time.Unix(0, rec.expires).Add(-m.opts.LoginTimeout)
	m.events.login(ctx, &id, m.opts.Now().Sub(started), nil)
	w.Header().Set("Location", rec.returnTo)
	w.WriteHeader(http.StatusSeeOther)
}

// AuthorizationCodeGrant validates the authorization response in r (query
// for GET, form body for POST), redeems its code with PKCE at the token
// endpoint, validates the token response and the ID token, and returns the
// tokens. It mirrors openid-client's authorizationCodeGrant (the README
// has a table of the differences); tokenParams are extra token endpoint
// parameters (for instance RFC 8707 resource), over which the protocol's
// own (grant_type, code, redirect_uri, code_verifier, client
// authentication) are set. With [Checks.DPoPKey] or [Options.DPoP] the
// tokens are DPoP-bound; [Tokens.DPoPKey] and [Tokens.Transport] use them.
// [Middleware.Callback] uses it; call it yourself for custom flows.
//
// The order of checks trusts nothing before it passed: duplicated or
// oversized parameters, state, RFC 9207 iss, then the error response, then
// the code. The code is never redeemed when state or iss fail. Every
// returned error matches a sentinel of this package or is a
// [*ProviderError].
func (m *Middleware) AuthorizationCodeGrant(ctx context.Context, r *http.Request, checks Checks, tokenParams url.Values) (*Tokens, error) {
	var dk *dpopKey
	var err error
	switch {
	case checks.DPoPKey != nil:
		dk, err = dpopKeyFrom(checks.DPoPKey)
	case m.opts.DPoP:
		if dk, err = newDPoPKey(); err != nil {
			err = fmt.Errorf("%w: making a DPoP key: %w", ErrInvalidChecks, err)
		}
	}
	if err != nil {
		return nil, err
	}
	params, p, err := m.authorizationResponse(ctx, r)
	if err != nil {
		return nil, err
	}
	return m.tokens.grant(ctx, p, params, checks, tokenParams, dk, m.mode.jarm())
}

// authorizationResponse reads the authorization response parameters of r
// (query or form body; with JARM, from the verified response JWT).
func (m *Middleware) authorizationResponse(ctx context.Context, r *http.Request) (url.Values, *provider, error) {
	params, err := callbackParams(r, m.opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	if !m.mode.jarm() && params.Has("response") {
		return nil, nil, fmt.Errorf("%w: a JARM response parameter, and JARM is not in use", ErrInvalidCallback)
	}
	p, err := m.disc.get(ctx)
	if err != nil {
		return nil, nil, err
	}
	if m.mode.jarm() {
		// JARM: the signed response is checked before anything in it.
		if params, err = m.verify.jarmResponse(ctx, p, params); err != nil {
			return nil, nil, err
		}
	}
	// The code flow returns a code, never tokens (an injected implicit or
	// hybrid response).
	for _, name := range []string{"id_token", "access_token"} {
		if params.Has(name) {
			return nil, nil, fmt.Errorf("%w: %s in an authorization code response", ErrInvalidCallback, name)
		}
	}
	return params, p, nil
}

// callbackParams reads the authorization response parameters: the query of
// a GET, the form body of a POST. A parameter given twice, an oversized
// one (Limits), or any other method is refused.
func callbackParams(r *http.Request, lim Limits) (url.Values, error) {
	var raw string
	switch r.Method {
	case http.MethodGet:
		raw = r.URL.RawQuery
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return nil, fmt.Errorf("%w: content type %q", ErrInvalidCallback, ct)
		}
		if r.PostForm != nil {
			return checkParams(r.PostForm, lim)
		}
		r.Body = http.MaxBytesReader(nil, r.Body, int64(lim.MaxRequestBytes))
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidCallback, err)
		}
		return checkParams(r.PostForm, lim)
	default:
		return nil, fmt.Errorf("%w: method %s", ErrInvalidCallback, r.Method)
	}
	if len(raw) > lim.MaxRequestBytes {
		return nil, fmt.Errorf("%w: query too long", ErrInvalidCallback)
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCallback, err)
	}
	return checkParams(v, lim)
}

func checkParams(v url.Values, lim Limits) (url.Values, error) {
	for k, vs := range v {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: parameter %q repeated", ErrInvalidCallback, k)
		}
		if len(vs[0]) > lim.MaxParamBytes {
			return nil, fmt.Errorf("%w: parameter %q too long", ErrInvalidCallback, k)
		}
	}
	return v, nil
}
