package oidctest

import (
	"net/http"
	"strings"
)

// userinfo is the UserInfo endpoint (OpenID Connect Core §5.3). It takes
// the access token from the Authorization header only (RFC 6750 §2.1) and
// answers with every claim of the user the token was issued for. A
// DPoP-bound token must come with the DPoP scheme and a proof of its key
// (RFC 9449 §7); sent as a Bearer token it is refused.
func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	dpop := strings.EqualFold(scheme, "DPoP") && tok != ""
	if !dpop && (!strings.EqualFold(scheme, "Bearer") || tok == "") {
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
	switch {
	case !dpop && at.jkt != "":
		w.Header().Set("WWW-Authenticate", `DPoP realm="oidctest", error="invalid_token", algs="`+dpopAlgList()+`"`)
		oauthError(w, http.StatusUnauthorized, "invalid_token", "the access token is DPoP-bound: use the DPoP scheme with a proof")
		return
	case dpop:
		jkt, fail := s.checkDPoP(e, r, tok, false)
		desc := ""
		switch {
		case fail != nil:
			desc = fail.desc
		case jkt == "":
			desc = "a DPoP proof is required"
		case at.jkt == "":
			desc = "the access token is not DPoP-bound"
		case jkt != at.jkt:
			desc = "the proof's key is not the one the access token is bound to"
		}
		if desc != "" {
			w.Header().Set("WWW-Authenticate", `DPoP realm="oidctest", error="invalid_dpop_proof", algs="`+dpopAlgList()+`"`)
			oauthError(w, http.StatusUnauthorized, "invalid_dpop_proof", desc)
			return
		}
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
