package oidctest

import "time"

// session is what an authorization grants: the tokens issued from one code
// (and its refreshes) share it.
type session struct {
	clientID string
	user     User
	scope    string
	authTime time.Time
	sid      string
	acr      string
	nonce    string // of the authorization request
	maxAge   bool   // the authorization request had max_age
	// resources are the RFC 8707 resource indicators of the
	// authorization request.
	resources []string
	// jkt binds the refresh token of a public client to a DPoP key (RFC
	// 9449 §5); "" when unbound.
	jkt string
}

// accessToken is an issued access token.
type accessToken struct {
	sess      *session
	expires   time.Time
	jkt       string   // DPoP key thumbprint (RFC 9449 §6); "" for a bearer token
	resources []string // RFC 8707 resource indicators it was issued for
}

// idToken builds, edits (behaviours) and signs an ID token for sess. nonce
// is empty for refreshes. sid and auth_time come from the OP session the
// tokens were issued in, acr from the authorization request. A profile
// edits the claims before behaviours do.
func (s *Server) idToken(e *env, sess *session, nonce string) (string, error) {
	claims := map[string]any{}
	for k, v := range sess.user.Claims {
		claims[k] = v
	}
	claims["iss"] = e.issuer
	claims["sub"] = sess.user.Subject
	claims["aud"] = sess.clientID
	claims["azp"] = sess.clientID
	claims["iat"] = e.now.Unix()
	claims["exp"] = e.now.Add(s.idTTL).Unix()
	claims["auth_time"] = sess.authTime.Unix()
	claims["sid"] = sess.sid
	claims["acr"] = sess.acr
	if nonce != "" {
		claims["nonce"] = nonce
	} else {
		delete(claims, "nonce")
	}
	s.profileClaims(e, sess, claims)
	for _, h := range e.hooks {
		if h.idToken != nil && h.appliesTo(e.grant) {
			h.idToken(e, claims)
		}
	}
	spec := jwsSpec{alg: e.key.alg, kid: e.key.kid, key: e.key.priv}
	for _, h := range e.hooks {
		if h.sign != nil && h.appliesTo(e.grant) {
			h.sign(e, &spec)
		}
	}
	return signJWT(spec, claims)
}
