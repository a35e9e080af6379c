package oidcmw

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"time"
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
	var idToken, refreshToken string
	if c, err := r.Cookie(m.sessionName); err == nil && validToken(c.Value) {
		key := sessionKey(c.Value)
		if b, found, err := m.getFresh(ctx, key); err == nil && found {
			var rec sessionRecord
			if m.decode(b, key, &rec) == nil {
				idToken, refreshToken = rec.id.IDToken, rec.id.RefreshToken
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
	p, err := m.provider(ctx)
	if err != nil {
		m.opts.Logger.WarnContext(ctx, "oidcmw: logged out locally only", "err", err)
	}
	if err == nil && m.opts.RevokeOnLogout && refreshToken != "" && p.revocationURL != "" {
		if err := m.revoke(ctx, p, refreshToken); err != nil {
			m.opts.Logger.WarnContext(ctx, "oidcmw: could not revoke the refresh token", "err", err)
		}
	}
	if err == nil && p.endSessionURL != "" {
		if u, err := url.Parse(p.endSessionURL); err == nil {
			q := u.Query()
			q.Set("client_id", m.opts.ClientID)
			q.Set("post_logout_redirect_uri", m.opts.PostLogoutRedirectURL)
			q.Set("state", rand.Text())
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

// revoke revokes a refresh token (RFC 7009 §2.1), authenticating the
// client the way the token endpoint does.
func (m *Middleware) revoke(ctx context.Context, p *provider, token string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	form := url.Values{"token": {token}, "token_type_hint": {"refresh_token"}}
	_, status, _, err := m.postForm(ctx, p, p.revocationURL, form, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("revocation endpoint answered %d", status)
	}
	return nil
}
