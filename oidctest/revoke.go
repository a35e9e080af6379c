package oidctest

import "net/http"

// revoke is the revocation endpoint (RFC 7009). Revoking a refresh token
// also revokes the access tokens of its grant. Unknown tokens get 200 too.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if !isForm(r) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return
	}
	c, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	s.mu.Lock()
	if at, ok := s.access[tok]; ok && at.sess.clientID == c.ID {
		delete(s.access, tok)
	}
	if sess := s.refresh[tok]; sess != nil && sess.clientID == c.ID {
		s.revokeLocked(tok)
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// revokeLocked revokes tokens; revoking a refresh token also revokes the
// access tokens of its session. s.mu must be held.
func (s *Server) revokeLocked(tokens ...string) {
	for _, tok := range tokens {
		delete(s.access, tok)
		sess := s.refresh[tok]
		if sess == nil {
			continue
		}
		delete(s.refresh, tok)
		for k, at := range s.access {
			if at.sess == sess {
				delete(s.access, k)
			}
		}
	}
}
