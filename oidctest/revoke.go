package oidctest

import "net/http"

// revoke is the revocation endpoint (RFC 7009 §2). The client
// authenticates as at the token endpoint; token_type_hint is accepted and
// ignored, as every token type is searched (§2.1). Revoking a refresh
// token also revokes the access tokens of its grant; revoking an access
// token leaves the refresh token valid. Tokens that are unknown or belong
// to another client are left alone and get 200 too (§2.2).
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
		s.revoked[tok] = true
	}
	if sess := s.refresh[tok]; sess != nil && sess.clientID == c.ID {
		s.revokeSessionLocked(sess)
	}
	s.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// revokeSessionLocked revokes the refresh and access tokens issued for
// sess (nil: none). s.mu must be held.
func (s *Server) revokeSessionLocked(sess *session) {
	if sess == nil {
		return
	}
	for k, v := range s.refresh {
		if v == sess {
			delete(s.refresh, k)
			s.revoked[k] = true
		}
	}
	for k, at := range s.access {
		if at.sess == sess {
			delete(s.access, k)
			s.revoked[k] = true
		}
	}
}

// Revoked reports whether token, an access or refresh token this server
// issued, has been revoked: at the revocation endpoint, with the refresh
// token of its grant, or by a replay of its authorization code. Expired
// tokens and refresh tokens replaced by rotation are not revoked.
func (s *Server) Revoked(token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked[token]
}
