package oidcmw

import (
	"net/http"
	"net/url"
)

// Logout ends the session: it deletes it from the store (the old cookie is
// worthless even if replayed), clears the cookie and redirects (303) to the
// provider's end_session_endpoint with id_token_hint, client_id and
// post_logout_redirect_uri (OpenID Connect RP-Initiated Logout 1.0 §2), or,
// when the provider has none, to Options.PostLogoutRedirectURL.
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
	var idToken string
	if c, err := r.Cookie(m.sessionName); err == nil && validToken(c.Value) {
		key := sessionKey(c.Value)
		if b, found, err := m.opts.Store.Get(ctx, key); err == nil && found {
			var rec sessionRecord
			if m.decode(b, key, &rec) == nil {
				idToken = rec.id.IDToken
			}
		}
		if err := m.opts.Store.Delete(ctx, key); err != nil {
			// The cookie must not outlive a session we could not delete.
			m.fail(w, r, storeError(err))
			return
		}
	}
	clear := m.sessionCookie("")
	clear.MaxAge = -1
	http.SetCookie(w, clear)

	target := m.opts.PostLogoutRedirectURL
	if p, err := m.provider(ctx); err == nil && p.endSessionURL != "" {
		if u, err := url.Parse(p.endSessionURL); err == nil {
			q := u.Query()
			q.Set("client_id", m.opts.ClientID)
			q.Set("post_logout_redirect_uri", m.opts.PostLogoutRedirectURL)
			if idToken != "" {
				q.Set("id_token_hint", idToken)
			}
			u.RawQuery = q.Encode()
			target = u.String()
		}
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}
