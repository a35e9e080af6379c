package oidcmw

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
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
	want := http.MethodGet
	if m.formPost() {
		want = http.MethodPost
	}
	if r.Method != want {
		m.fail(w, r, ErrInvalidCallback)
		return
	}
	ctx := r.Context()
	params, p, err := m.authorizationResponse(ctx, r)
	if err != nil {
		m.fail(w, r, err)
		return
	}
	state := params.Get("state")
	if !validToken(state) {
		m.fail(w, r, ErrStateMismatch)
		return
	}
	pkey := pendingKey(state)
	b, found, err := m.opts.Store.Take(ctx, pkey)
	if err != nil {
		m.fail(w, r, storeError(err))
		return
	}
	// No comparison of rec.state with state here: the record was found
	// under pendingKey(state), and grantWith compares the state of the
	// response with rec.state (constant time) before anything is redeemed.
	var rec pendingRecord
	if !found || m.decode(b, pkey, &rec) != nil || !validToken(rec.binding) {
		m.fail(w, r, ErrStateMismatch)
		return
	}
	if m.opts.Now().UnixNano() >= rec.expires {
		m.fail(w, r, ErrLoginExpired)
		return
	}
	if rec.issuer != m.opts.Issuer {
		// Started for another provider whose middleware shares the store:
		// its code must not reach this provider (RFC 9700 §4.4 mix-up).
		m.fail(w, r, fmt.Errorf("%w: the login was started for %q", ErrIssuerMismatch, rec.issuer))
		return
	}
	c, err := r.Cookie(m.loginCookieName(rec.binding))
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(rec.binding)) != 1 {
		m.fail(w, r, ErrStateMismatch)
		return
	}
	checks := Checks{
		State:           rec.state,
		CodeVerifier:    rec.verifier,
		Nonce:           rec.nonce,
		MaxAge:          secondsDuration(rec.maxAge),
		ACRValues:       strings.Fields(rec.acr),
		IDTokenExpected: true,
	}
	dk, err := parseDPoPKey(rec.dpop)
	if err != nil {
		m.fail(w, r, ErrStateMismatch)
		return
	}
	tokens, err := m.grantWith(ctx, p, params, checks, nil, dk)
	if err == nil && m.opts.FetchUserInfo {
		err = m.addUserInfo(ctx, tokens)
	}
	if err == nil && m.opts.AfterLogin != nil {
		id := tokens.identity()
		if hookErr := m.opts.AfterLogin(NewContext(ctx, &id), &id); hookErr != nil {
			err = fmt.Errorf("%w: %w", ErrLoginRefused, hookErr)
		}
	}
	if err == nil {
		// Every check passed: a new session under a new id.
		err = m.createSession(w, r, tokens)
	}
	if err != nil {
		m.fail(w, r, err)
		return
	}
	w.Header().Set("Location", rec.returnTo)
	w.WriteHeader(http.StatusSeeOther)
}

func (m *Middleware) addUserInfo(ctx context.Context, t *Tokens) error {
	p, err := m.provider(ctx)
	if err != nil {
		return err
	}
	id := t.identity()
	t.userinfo, err = m.fetchUserInfo(ctx, p, &id)
	return err
}
