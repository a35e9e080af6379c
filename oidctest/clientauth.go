package oidctest

import (
	"crypto/subtle"
	"mime"
	"net/http"
	"net/url"
)

// isForm reports whether r carries an application/x-www-form-urlencoded
// body.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// authenticateClient authenticates the client of a token, revocation or
// PAR request with the method the client is registered for (RFC 6749
// §2.3.1, OpenID Connect Core §9, RFC 7523 for JWT assertions). On
// failure it writes 401 invalid_client and returns false.
func (s *Server) authenticateClient(w http.ResponseWriter, r *http.Request) (Client, bool) {
	if f := r.PostForm; f.Has("client_assertion") || f.Has("client_assertion_type") {
		c, err := s.authenticateAssertion(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
			oauthError(w, http.StatusUnauthorized, "invalid_client", err.Error())
			return Client{}, false
		}
		return c, true
	}
	id, secret, method, ok := clientCredentials(r)
	var c Client
	if ok {
		s.mu.Lock()
		c, ok = s.clients[id]
		s.mu.Unlock()
	}
	ok = ok && c.authMethod() == method &&
		(method == "none" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) == 1)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return Client{}, false
	}
	return c, true
}

// clientCredentials extracts the client's credentials and the method used
// to send them. Using more than one method is refused (RFC 6749 §2.3).
func clientCredentials(r *http.Request) (id, secret, method string, ok bool) {
	f := r.PostForm
	if r.Header.Get("Authorization") != "" {
		user, pass, ok := r.BasicAuth()
		if !ok || f.Has("client_secret") {
			return "", "", "", false
		}
		// The id and secret are form-urlencoded before base64
		// (RFC 6749 §2.3.1).
		id, err1 := url.QueryUnescape(user)
		secret, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || (f.Has("client_id") && f.Get("client_id") != id) {
			return "", "", "", false
		}
		return id, secret, "client_secret_basic", true
	}
	if f.Has("client_secret") {
		return f.Get("client_id"), f.Get("client_secret"), "client_secret_post", f.Get("client_id") != ""
	}
	return f.Get("client_id"), "", "none", f.Get("client_id") != ""
}
