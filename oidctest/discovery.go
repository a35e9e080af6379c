package oidctest

import (
	"net/http"
	"slices"
)

// discoveryDoc returns the provider metadata (OpenID Connect Discovery
// 1.0 §3), edited by behaviours.
func (s *Server) discoveryDoc(e *env) map[string]any {
	if s.profile != "" {
		doc := s.profileDiscoveryDoc(e)
		for _, h := range e.hooks {
			if h.discovery != nil {
				h.discovery(e, doc)
			}
		}
		return doc
	}
	s.mu.Lock()
	claims := []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "azp", "sid", "acr"}
	for k := range s.user.Claims {
		if !slices.Contains(claims, k) {
			claims = append(claims, k)
		}
	}
	s.mu.Unlock()
	slices.Sort(claims)
	u := e.issuer
	doc := map[string]any{
		"issuer":                                         e.issuer,
		"authorization_endpoint":                         u + "/authorize",
		"token_endpoint":                                 u + "/token",
		"userinfo_endpoint":                              u + "/userinfo",
		"jwks_uri":                                       u + "/jwks",
		"end_session_endpoint":                           u + "/end_session",
		"revocation_endpoint":                            u + "/revoke",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query", "form_post"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{e.key.alg},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               []string{"openid", "profile", "email", "offline_access"},
		"claims_supported":                               claims,
		"authorization_response_iss_parameter_supported": s.sendIss,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
	}
	for _, h := range e.hooks {
		if h.discovery != nil {
			h.discovery(e, doc)
		}
	}
	return doc
}

// discovery serves the discovery document.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.discoveryDoc(s.env("")))
}
