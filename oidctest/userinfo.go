package oidctest

import (
	"net/http"
	"strings"
)

// userinfo is the UserInfo endpoint (OpenID Connect Core §5.3). It takes
// the access token from the Authorization header only (RFC 6750 §2.1) and
// answers with every claim of the user the token was issued for.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oidctest"`)
		oauthError(w, http.StatusUnauthorized, "invalid_request", "bearer token required")
		return
	}
	e := s.env("")
	s.mu.Lock()
	at, ok := s.access[tok]
	s.mu.Unlock()
	if !ok || !e.now.Before(at.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="oidctest", error="invalid_token"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "invalid or expired access token")
		return
	}
	claims := map[string]any{}
	for k, v := range at.sess.user.Claims {
		claims[k] = v
	}
	claims["sub"] = at.sess.user.Subject
	for _, h := range e.hooks {
		if h.userinfo != nil {
			h.userinfo(e, claims)
		}
	}
	writeJSON(w, http.StatusOK, claims)
}
