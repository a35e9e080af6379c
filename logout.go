package oidcmw

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
)

// Logout ends the session: it deletes it from the store (the old cookie is
// worthless even if replayed), clears the cookie, revokes the refresh token
// when Options.RevokeOnLogout is set, and sends the browser to the
// provider's end_session_endpoint with id_token_hint, client_id,
// post_logout_redirect_uri and a state (OpenID Connect RP-Initiated Logout
// 1.0 §2): as a page whose form the browser posts at once (200), so that
// the ID token is in no URL, or, with Options.EndSessionGET, as a redirect
// (303). Without an end_session_endpoint it redirects (303) to
// Options.PostLogoutRedirectURL. The state is not checked when the browser
// comes back: the post-logout page is an ordinary page. A session of
// another provider (see [Providers]) is ended here without a word to this
// provider.
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
	id, foreign, err := m.sess.endRequest(w, r, func(iss string) bool {
		return m.tenant.owns(m.opts.Issuer, iss)
	})
	if err != nil {
		// The cookie must not outlive a session we could not delete.
		m.events.logout(ctx, EventLogout, "", "", 0, err)
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
	var idToken, refreshToken string
	if id != nil {
		idToken, refreshToken = id.IDToken, id.RefreshToken
		m.events.logout(ctx, EventLogout, id.Issuer, id.Subject, 1, nil)
	} else {
		m.events.logout(ctx, EventLogout, "", "", 0, nil)
	}
	p, err := m.disc.get(ctx)
	if err != nil && !m.outages.covers(err) {
		m.opts.Logger.WarnContext(ctx, "oidcmw: logged out locally only", "err", err)
	}
	if err == nil && m.opts.RevokeOnLogout && refreshToken != "" && p.revocationURL != "" {
		if err := m.tokens.revoke(ctx, p, refreshToken); err != nil {
			m.opts.Logger.WarnContext(ctx, "oidcmw: could not revoke the refresh token", "err", err)
		}
	}
	if err == nil && p.endSessionURL != "" {
		params := endSessionParams(m.opts.ClientID, m.opts.PostLogoutRedirectURL, idToken)
		if !m.opts.EndSessionGET {
			// A form the browser posts: the ID token stays out of URLs.
			writeAutoPost(w, p.endSessionURL, params)
			return
		}
		target = withQuery(p.endSessionURL, params)
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// endSessionParams are the RP-Initiated Logout 1.0 §2 request parameters.
func endSessionParams(clientID, postLogout, idToken string) url.Values {
	q := url.Values{"client_id": {clientID}, "post_logout_redirect_uri": {postLogout}, "state": {rand.Text()}}
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	return q
}

// withQuery is endpoint with params added to its query; the endpoint
// itself when it does not parse.
func withQuery(endpoint string, params url.Values) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return endpoint
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// autoPostScript submits the page's form; its hash is in the page's
// Content-Security-Policy.
const autoPostScript = `document.forms[0].submit()`

var autoPostPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Signing out</title></head>
<body><form method="post" action="{{.Action}}">
{{range $k, $vs := .Fields}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<noscript><button type="submit">Continue signing out</button></noscript>
</form><script>` + autoPostScript + `</script></body></html>
`))

// writeAutoPost answers a page whose form posts fields to action at once.
func writeAutoPost(w http.ResponseWriter, action string, fields url.Values) {
	sum := sha256.Sum256([]byte(autoPostScript))
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	// No form-action: browsers apply it to the provider's redirect back to
	// the post-logout URL too.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'sha256-"+
		base64.StdEncoding.EncodeToString(sum[:])+"'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	_ = autoPostPage.Execute(w, struct {
		Action string
		Fields url.Values
	}{action, fields})
}
