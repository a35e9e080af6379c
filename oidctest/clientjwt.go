package oidctest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWTs that clients sign: client assertions (RFC 7523) and request objects
// (RFC 9101).

// jwtBearer is the client_assertion_type of JWT client assertions (RFC
// 7523 §2.2).
const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clientKeyAlgs are the algorithms of keys in Client.JWKS: RSA, ECDSA P-256
// and Ed25519. The same list verifies DPoP proofs.
var clientKeyAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// clientJWTAlgs are what a client may sign with: its keys, or HS256 keyed
// with its secret.
var clientJWTAlgs = append(slices.Clone(clientKeyAlgs), jose.HS256)

const (
	// assertionMaxLifetime bounds exp - iat of client assertions, and
	// exp - now.
	assertionMaxLifetime = 5 * time.Minute
	// clockSkew is how far iat and nbf may lie in the future.
	clockSkew = time.Minute
)

// checkClient reports why the server cannot serve c.
func checkClient(c Client) error {
	switch c.AuthMethod {
	case "client_secret_jwt":
		if len(c.Secret) < 32 {
			return errors.New("client_secret_jwt needs a Secret of at least 32 bytes (HS256, RFC 7518 §3.2)")
		}
	case "private_key_jwt":
		if c.JWKS == nil || len(c.JWKS.Keys) == 0 {
			return errors.New("private_key_jwt needs JWKS")
		}
	}
	if c.JWKS != nil {
		for i, k := range c.JWKS.Keys {
			if !k.Valid() || !k.IsPublic() {
				return fmt.Errorf("JWKS key %d is not an asymmetric key", i)
			}
		}
	}
	if c.IDTokenEncryption != nil {
		if _, err := encrypter(c.IDTokenEncryption); err != nil {
			return fmt.Errorf("IDTokenEncryption: %w", err)
		}
	}
	return nil
}

// clientJWT is a verified JWT a client signed.
type clientJWT struct {
	alg    string
	std    jwt.Claims
	claims map[string]any
}

// verifyClientJWT checks the signature of raw, a compact JWS by c: HS256
// keyed with c.Secret, or an asymmetric algorithm with a key of c.JWKS
// (the one with the header's kid, else each in turn).
func verifyClientJWT(c Client, raw string) (*clientJWT, error) {
	jws, err := jose.ParseSignedCompact(raw, clientJWTAlgs)
	if err != nil {
		return nil, errors.New("not a JWS signed with a supported algorithm")
	}
	h := jws.Signatures[0].Header
	var payload []byte
	if h.Algorithm == string(jose.HS256) {
		if c.Secret == "" {
			return nil, errors.New("HS256 but the client has no secret")
		}
		payload, err = jws.Verify([]byte(c.Secret))
	} else {
		err = errors.New("no key of the client verifies the signature")
		if c.JWKS != nil {
			keys := c.JWKS.Keys
			if h.KeyID != "" {
				keys = c.JWKS.Key(h.KeyID)
			}
			for _, k := range keys {
				if payload, err = jws.Verify(k); err == nil {
					break
				}
			}
		}
	}
	if err != nil {
		return nil, errors.New("invalid signature")
	}
	t := &clientJWT{alg: h.Algorithm}
	if json.Unmarshal(payload, &t.std) != nil || json.Unmarshal(payload, &t.claims) != nil {
		return nil, errors.New("claims are not a JSON object")
	}
	return t, nil
}

// unverifiedIssuer returns the iss claim of a compact JWS without
// verifying anything, to find the client whose keys verify it.
func unverifiedIssuer(raw string) (iss, alg string, ok bool) {
	jws, err := jose.ParseSignedCompact(raw, clientJWTAlgs)
	if err != nil {
		return "", "", false
	}
	var c jwt.Claims
	if json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c) != nil {
		return "", "", false
	}
	return c.Issuer, jws.Signatures[0].Header.Algorithm, true
}

// checkTimes checks exp (required, in the future), nbf and iat (not
// beyond clockSkew ahead).
func (t *clientJWT) checkTimes(now time.Time) error {
	switch {
	case t.std.Expiry == nil:
		return errors.New("no exp")
	case !now.Before(t.std.Expiry.Time()):
		return errors.New("expired")
	case t.std.NotBefore != nil && t.std.NotBefore.Time().After(now.Add(clockSkew)):
		return errors.New("nbf in the future")
	case t.std.IssuedAt != nil && t.std.IssuedAt.Time().After(now.Add(clockSkew)):
		return errors.New("iat in the future")
	}
	return nil
}

// authenticateAssertion authenticates a client with a JWT assertion:
// client_secret_jwt or private_key_jwt (RFC 7523 §3, OpenID Connect Core
// §9). The assertion's iss and sub must be the client, aud must name the
// issuer, the token endpoint or the endpoint it was sent to, exp must be
// at most five minutes ahead, and jti must not have been seen before.
func (s *Server) authenticateAssertion(r *http.Request) (Client, error) {
	f := r.PostForm
	switch {
	case r.Header.Get("Authorization") != "" || f.Has("client_secret"):
		return Client{}, errors.New("more than one authentication method")
	case len(f["client_assertion"]) != 1 || len(f["client_assertion_type"]) != 1:
		return Client{}, errors.New("client_assertion and client_assertion_type are required once each")
	case f.Get("client_assertion_type") != jwtBearer:
		return Client{}, errors.New("unsupported client_assertion_type")
	}
	raw := f.Get("client_assertion")
	id, alg, ok := unverifiedIssuer(raw)
	if !ok || id == "" {
		return Client{}, errors.New("client_assertion is not a signed JWT with iss")
	}
	if f.Has("client_id") && f.Get("client_id") != id {
		return Client{}, errors.New("client_id is not the assertion's iss")
	}
	s.mu.Lock()
	c, known := s.clients[id]
	s.mu.Unlock()
	method := "private_key_jwt"
	if alg == string(jose.HS256) {
		method = "client_secret_jwt"
	}
	if !known || c.authMethod() != method {
		return Client{}, errors.New("the client is not registered for " + method)
	}
	t, err := verifyClientJWT(c, raw)
	if err != nil {
		return Client{}, fmt.Errorf("client_assertion: %w", err)
	}
	e := s.env(c.ID)
	endpoint := e.base + requestPath(r)
	switch {
	case t.std.Subject != c.ID:
		return Client{}, errors.New("client_assertion: sub is not the client")
	case !slices.ContainsFunc(t.std.Audience, func(a string) bool {
		return a == e.issuer || a == e.base+tokenPath || a == endpoint
	}):
		return Client{}, errors.New("client_assertion: aud names neither the issuer nor the endpoint")
	case t.std.ID == "":
		return Client{}, errors.New("client_assertion: no jti")
	}
	if err := t.checkTimes(e.now); err != nil {
		return Client{}, fmt.Errorf("client_assertion: %w", err)
	}
	exp := t.std.Expiry.Time()
	if exp.Sub(e.now) > assertionMaxLifetime+clockSkew ||
		t.std.IssuedAt != nil && exp.Sub(t.std.IssuedAt.Time()) > assertionMaxLifetime {
		return Client{}, errors.New("client_assertion: lifetime longer than 5 minutes")
	}
	if !s.firstUse("assertion "+c.ID+" "+t.std.ID, e.now, exp) {
		return Client{}, errors.New("client_assertion: jti already used")
	}
	return c, nil
}

// firstUse records key in the replay cache until until and reports
// whether it was not there yet. Entries past their time are dropped.
func (s *Server) firstUse(key string, now, until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.seenJTI {
		if now.After(t) {
			delete(s.seenJTI, k)
		}
	}
	if _, seen := s.seenJTI[key]; seen {
		return false
	}
	s.seenJTI[key] = until
	return true
}

// requestPath is the path the client sent r to, before a profile mapped
// it to the handler's path.
func requestPath(r *http.Request) string {
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil && u.Path != "" {
		return u.Path
	}
	return r.URL.Path
}
