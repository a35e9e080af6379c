package oidctest

import (
	"net/http"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
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
	s.extendDiscoveryDoc(e, doc)
	for _, h := range e.hooks {
		if h.discovery != nil {
			h.discovery(e, doc)
		}
	}
	return doc
}

// extendDiscoveryDoc adds the metadata of PAR (RFC 9126 §5), JAR (RFC 9101
// §10), JARM (§6), DPoP (RFC 9449 §5.1), JWT client authentication (RFC
// 8414 §2) and ID token encryption (Discovery §3). The lists that the
// server has always published, response_modes_supported and the
// endpoints' auth methods, only grow when the feature is switched on:
// JARM with Config.JARM, the JWT methods when a registered client uses
// one.
func (s *Server) extendDiscoveryDoc(e *env, doc map[string]any) {
	u := e.issuer
	algs := func(list []jose.SignatureAlgorithm) []string {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = string(a)
		}
		return out
	}
	doc["pushed_authorization_request_endpoint"] = u + "/par"
	doc["require_pushed_authorization_requests"] = s.requirePAR
	doc["request_parameter_supported"] = true
	doc["request_uri_parameter_supported"] = false // only PAR's request_uri
	doc["request_object_signing_alg_values_supported"] = algs(clientJWTAlgs)
	doc["require_signed_request_object"] = s.requireSigned
	doc["dpop_signing_alg_values_supported"] = algs(clientKeyAlgs)
	doc["id_token_encryption_alg_values_supported"] = slices.Clone(encryptionAlgs)
	doc["id_token_encryption_enc_values_supported"] = slices.Clone(encryptionEncs)
	doc["token_endpoint_auth_signing_alg_values_supported"] = algs(clientJWTAlgs)
	doc["revocation_endpoint_auth_signing_alg_values_supported"] = algs(clientJWTAlgs)
	if s.jarm {
		doc["response_modes_supported"] = []string{"query", "form_post", "jwt", "query.jwt", "form_post.jwt"}
		doc["authorization_signing_alg_values_supported"] = []string{e.key.alg}
	}
	s.mu.Lock()
	var jwtMethods []string
	for _, m := range []string{"client_secret_jwt", "private_key_jwt"} {
		for _, c := range s.clients {
			if c.authMethod() == m {
				jwtMethods = append(jwtMethods, m)
				break
			}
		}
	}
	s.mu.Unlock()
	if len(jwtMethods) > 0 {
		for _, k := range []string{"token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
			list, _ := doc[k].([]string)
			doc[k] = append(slices.Clone(list), jwtMethods...)
		}
	}
}

// discovery serves the discovery document.
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.discoveryDoc(s.env("")))
}
