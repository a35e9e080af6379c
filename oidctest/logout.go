package oidctest

import (
	"net/http"
	"net/url"
)

// endSession is the RP-initiated logout endpoint (OpenID Connect
// RP-Initiated Logout 1.0 §2). With post_logout_redirect_uri it redirects
// there, adding state; otherwise it shows a "signed out" page.
// id_token_hint and client_id are accepted and recorded, not checked.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	target := r.Form.Get("post_logout_redirect_uri")
	if target == "" {
		writeHTML(w, http.StatusOK, "Signed out", "You have been signed out.")
		return
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeHTML(w, http.StatusBadRequest, "Bad request", "Invalid post_logout_redirect_uri.")
		return
	}
	if st := r.Form.Get("state"); st != "" {
		q := u.Query()
		q.Set("state", st)
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}
