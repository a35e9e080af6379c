package oidctest

import (
	"net/url"
	"time"
)

// JWT Secured Authorization Response Mode (JARM).

// jarmLifetime is exp - now of JARM responses.
const jarmLifetime = 10 * time.Minute

// jarmResponse returns the authorization response parameters p as a JWT
// signed with the server's key (JARM §2.1): iss, aud (the client) and exp
// next to the parameters, edited by behaviours.
func (s *Server) jarmResponse(e *env, p url.Values) (string, error) {
	claims := map[string]any{}
	for k, v := range p {
		if len(v) > 0 {
			claims[k] = v[0]
		}
	}
	claims["iss"] = e.issuer
	claims["aud"] = e.clientID
	claims["exp"] = e.now.Add(jarmLifetime).Unix()
	spec := jwsSpec{alg: e.key.alg, kid: e.key.kid, key: e.key.priv}
	for _, h := range e.hooks {
		if h.jarm != nil {
			h.jarm(e, claims, &spec)
		}
	}
	return signJWT(spec, claims)
}
