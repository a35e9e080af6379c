package oidctest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"regexp"
)

// token is the token endpoint (RFC 6749 §3.2, OpenID Connect Core §3.1.3).
// With a valid DPoP proof (RFC 9449 §5) the access token is bound to the
// proof's key, and so is a public client's refresh token.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if !isForm(r) {
		oauthError(w, http.StatusBadRequest, "invalid_request", "body must be application/x-www-form-urlencoded")
		return
	}
	// The DPoP proof comes first, so that a use_dpop_nonce answer consumes
	// neither the code nor the client assertion's jti.
	jkt, fail := s.checkDPoP(s.env(""), r, "", s.dpopNonceOn)
	if s.dpopNonceOn {
		w.Header().Set("DPoP-Nonce", s.currentDPoPNonce())
	}
	if fail != nil {
		s.writeDPoPError(w, fail)
		return
	}
	c, ok := s.authenticateClient(w, r)
	if !ok {
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.redeemCode(w, r, c, jkt)
	case "refresh_token":
		s.refreshTokens(w, r, c, jkt)
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type is not supported")
	}
}

// redeemCode exchanges an authorization code. A code is consumed by the
// first attempt to redeem it, successful or not; a replay also revokes
// the tokens issued from it (RFC 6749 §4.1.2). The client is remembered
// in the OP session for back-channel logout.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request, c Client, jkt string) {
	f := r.PostForm
	e := s.env(c.ID)
	e.grant = "authorization_code"
	s.mu.Lock()
	g := s.codes[f.Get("code")]
	problem, errCode := "", "invalid_grant"
	var resources []string
	switch {
	case g == nil:
		problem = "unknown code"
	case g.used:
		problem = "code already used"
		s.revokeSessionLocked(g.sess)
	case g.clientID != c.ID:
		problem = "code was issued to another client"
	case !e.now.Before(g.expires):
		problem = "code expired"
	case f.Get("redirect_uri") != g.redirectURI:
		problem = "redirect_uri does not match the authorization request"
	case !verifierMatches(f.Get("code_verifier"), g.challenge):
		problem = "code_verifier does not match code_challenge"
	case g.dpopJKT != "" && jkt != g.dpopJKT:
		problem = "the DPoP proof's key is not the dpop_jkt of the authorization request"
	default:
		if resources, problem = grantResources(f["resource"], g.resources); problem != "" {
			errCode = "invalid_target"
		}
	}
	if g != nil {
		g.used = true
	}
	if problem != "" {
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, errCode, problem)
		return
	}
	sess := &session{clientID: c.ID, user: g.user, scope: g.scope,
		authTime: g.op.authTime, sid: g.op.sid, acr: g.acr, nonce: g.nonce, maxAge: g.maxAge != "",
		resources: g.resources}
	if c.authMethod() == "none" {
		sess.jkt = jkt
	}
	g.sess = sess
	g.op.clients[c.ID] = true
	at, rt := randomToken(), randomToken()
	s.access[at] = accessToken{sess: sess, expires: e.now.Add(s.accessTTL), jkt: jkt, resources: resources}
	if s.profileWithholdsRefreshLocked(g) || e.withholdRefresh(g.scope, g.prompt) {
		rt = ""
	} else {
		s.refresh[rt] = sess
	}
	s.mu.Unlock()
	s.writeTokens(w, e, sess, at, rt, g.nonce, jkt)
}

// refreshTokens answers a refresh_token grant (RFC 6749 §6, OpenID Connect
// Core §12.2): a new access token and ID token, and with
// Config.RotateRefreshTokens a new refresh token that replaces the old.
func (s *Server) refreshTokens(w http.ResponseWriter, r *http.Request, c Client, jkt string) {
	e := s.env(c.ID)
	e.grant = refreshGrant
	rt := r.PostForm.Get("refresh_token")
	s.mu.Lock()
	sess := s.refresh[rt]
	if sess == nil || sess.clientID != c.ID {
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid refresh_token")
		return
	}
	if sess.jkt != "" && jkt != sess.jkt {
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is bound to another DPoP key")
		return
	}
	resources, problem := grantResources(r.PostForm["resource"], sess.resources)
	if problem != "" {
		s.mu.Unlock()
		oauthError(w, http.StatusBadRequest, "invalid_target", problem)
		return
	}
	if s.rotate {
		delete(s.refresh, rt)
		rt = randomToken()
		s.refresh[rt] = sess
	}
	at := randomToken()
	s.access[at] = accessToken{sess: sess, expires: e.now.Add(s.accessTTL), jkt: jkt, resources: resources}
	s.mu.Unlock()
	e.nonce = sess.nonce
	s.writeTokens(w, e, sess, at, rt, "", jkt)
}

// writeTokens writes a successful token response, edited by behaviours.
// rt is empty when no refresh token is issued; jkt is not empty when the
// access token is DPoP-bound. The ID token is encrypted when the client
// asks for it (Client.IDTokenEncryption).
func (s *Server) writeTokens(w http.ResponseWriter, e *env, sess *session, at, rt, nonce, jkt string) {
	idt, err := s.idToken(e, sess, nonce)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "cannot sign the ID token")
		return
	}
	s.mu.Lock()
	enc := s.clients[sess.clientID].IDTokenEncryption
	s.mu.Unlock()
	if enc != nil {
		if idt, err = encryptJWT(idt, enc); err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", "cannot encrypt the ID token")
			return
		}
	}
	tokenType := "Bearer"
	if jkt != "" {
		tokenType = "DPoP"
	}
	body := map[string]any{
		"access_token":  at,
		"token_type":    tokenType,
		"expires_in":    int64(s.accessTTL.Seconds()),
		"refresh_token": rt,
		"id_token":      idt,
		"scope":         sess.scope,
	}
	if rt == "" {
		delete(body, "refresh_token")
	}
	for _, h := range e.hooks {
		if h.tokenJSON != nil && h.appliesTo(e.grant) {
			h.tokenJSON(e, body)
		}
	}
	writeJSON(w, http.StatusOK, body)
}

var verifierSyntax = regexp.MustCompile(`^[A-Za-z0-9._~-]{43,128}$`)

// verifierMatches checks a PKCE code_verifier against an S256 challenge
// (RFC 7636 §4.6).
func verifierMatches(verifier, challenge string) bool {
	if !verifierSyntax.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	want := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}
