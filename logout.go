package oidcmw

import (
	"crypto/rand"
	"net/http"
	"net/url"
)

// Logout ends the session: it deletes it from the store (the old cookie is
// worthless even if replayed), clears the cookie, revokes the refresh token
// when Options.RevokeOnLogout is set, and redirects (303) to the provider's
// end_session_endpoint with id_token_hint, client_id,
// post_logout_redirect_uri and a state (OpenID Connect RP-Initiated Logout
// 1.0 §2), or, when the provider has none, to Options.PostLogoutRedirectURL.
// The state is not checked when the browser comes back: the post-logout
// page is an ordinary page.
//
// Mount it for POST. Other methods get 405, and cross-origin requests are
// refused with 403 by [http.CrossOriginProtection], so a third-party page
// cannot log users out.
func (m *Middleware) Logout(w http.ResponseWriter, r *http.Request) {
	m.logout.ServeHTTP(w, r)
}

func (m *Middleware) handleLogout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	noStore(w)
	ctx := r.Context()
	idToken, refreshToken, foreign, err := m.sess.endRequest(w, r, func(iss string) bool {
		return m.tenant.owns(m.opts.Issuer, iss)
	})
	if err != nil {
		// The cookie must not outlive a session we could not delete.
		m.fail(w, r, err)
		return
	}
	target := m.opts.PostLogoutRedirectURL
	if foreign {
		// Another provider's session (Providers shares the store): ended
		// here, and nothing of it goes to this provider.
		m.opts.Logger.WarnContext(ctx, "oidcmw: a session of another provider ended locally at this provider's logout")
		w.Header().Set("Location", target)
		w.WriteHeader(http.StatusSeeOther)
		return
	}
	p, err := m.disc.get(ctx)
	if err != nil {
		m.opts.Logger.WarnContext(ctx, "oidcmw: logged out locally only", "err", err)
	}
	if err == nil && m.opts.RevokeOnLogout && refreshToken != "" && p.revocationURL != "" {
		if err := m.tokens.revoke(ctx, p, refreshToken); err != nil {
			m.opts.Logger.WarnContext(ctx, "oidcmw: could not revoke the refresh token", "err", err)
		}
	}
	if err == nil && p.endSessionURL != "" {
		target = logoutURL(p.endSessionURL, m.opts.ClientID, m.opts.PostLogoutRedirectURL, idToken)
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// logoutURL is the RP-Initiated Logout request (§2) at endpoint; the
// endpoint itself when it does not parse.
func logoutURL(endpoint, clientID, postLogout, idToken string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	q := u.Query()
	q.Set("client_id", clientID)
	q.Set("post_logout_redirect_uri", postLogout)
	q.Set("state", rand.Text())
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	u.RawQuery = q.Encode()
	return u.String()
}
