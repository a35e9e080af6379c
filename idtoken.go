package oidcmw

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// idClaims is the validated ID token: what the session needs, and the raw
// claims for Identity.Claims.
type idClaims struct {
	token                     string // as received (encrypted or not)
	subject, issuer, sid, acr string
	authTime                  time.Time
	raw                       []byte
}

// verifyIDToken applies OpenID Connect Core §3.1.3.7 to raw: go-oidc
// checks the signature (verifyJWT: alg allow-list from discovery, never
// none or HMAC), iss and aud; then, on the strictly decoded claims
// (decodeClaims), iss, aud containing the client id, exp and nbf with the
// clock skew (checkIssuerAudienceExpiry), azp, iat, sub, nonce, auth_time
// and acr.
//
// On refresh (OIDC Core §12.2) the nonce is not checked: the token comes
// straight from the token endpoint, and providers differ (some repeat the
// original nonce, some omit it).
func (m *Middleware) verifyIDToken(ctx context.Context, p *provider, raw string, c Checks, refresh bool) (*idClaims, error) {
	if len(raw) > m.opts.Limits.MaxTokenBytes {
		return nil, fmt.Errorf("%w: too large", ErrInvalidIDToken)
	}
	received := raw
	if strings.Count(raw, ".") == 4 { // JWE: a nested, encrypted ID token
		inner, err := m.decryptIDToken(raw)
		if err != nil {
			return nil, err
		}
		raw = inner
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidIDToken}, a...)...)
	}
	_, payload, err := p.verifyJWT(ctx, p.idVerifier, p.idAlgs, raw, idToken)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		return nil, bad("%v", err)
	}
	var tok jwtClaims
	if err := decodeClaims(payload, &tok); err != nil {
		return nil, bad("claims: %v", err)
	}
	if err := m.checkIssuerAudienceExpiry(p, &tok); err != nil {
		return nil, bad("%v", err)
	}
	now := m.opts.Now()
	skew := m.opts.ClockSkew
	if err := m.checkTenantIssuer(tok.Issuer, tok.TID); err != nil {
		return nil, err
	}
	// azp: required with several audiences, and must be us when present.
	if len(tok.Audience) > 1 && tok.AZP == nil {
		return nil, bad("several audiences and no azp")
	}
	if tok.AZP != nil && *tok.AZP != m.opts.ClientID {
		return nil, bad("azp is not the client id")
	}
	if tok.IssuedAt == nil {
		return nil, bad("iat missing")
	}
	if tok.IssuedAt.time().After(now.Add(skew)) {
		return nil, bad("iat in the future")
	}
	if tok.Subject == "" {
		return nil, bad("sub missing")
	}
	var nonce string
	if tok.Nonce != nil {
		nonce = *tok.Nonce
	}
	switch {
	case refresh:
	case c.Nonce != "" && subtle.ConstantTimeCompare([]byte(nonce), []byte(c.Nonce)) != 1:
		return nil, bad("nonce does not match")
	case c.Nonce == "" && nonce != "":
		return nil, bad("unexpected nonce")
	}
	var authTime time.Time
	if tok.AuthTime != nil {
		authTime = tok.AuthTime.time()
	}
	if c.MaxAge > 0 {
		if tok.AuthTime == nil {
			return nil, bad("auth_time missing although max_age was requested")
		}
		if authTime.Add(c.MaxAge).Add(skew).Before(now) {
			return nil, bad("auth_time older than max_age")
		}
	}
	if len(c.ACRValues) > 0 && !slices.Contains(c.ACRValues, tok.ACR) {
		return nil, fmt.Errorf("%w: acr %q not among %q", ErrInsufficientAuthentication, tok.ACR, c.ACRValues)
	}
	return &idClaims{token: received, subject: tok.Subject, issuer: tok.Issuer, sid: tok.SID, acr: tok.ACR,
		authTime: authTime, raw: payload}, nil
}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
