package oidcmw

import (
	"context"
	"crypto/subtle"
	"encoding/json"
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

// verifyIDToken applies OpenID Connect Core §3.1.3.7. go-oidc checks the
// signature (through keySet: alg allow-list from discovery, never none or
// HMAC), iss, aud containing the client id, and exp (with the clock skew);
// the checks go-oidc leaves to the caller follow: azp, iat, sub, nonce and
// auth_time.
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
	kid, _, err := jwtHeader(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	if err := p.keys.ensure(ctx, kid); err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	tok, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	var extra struct {
		Azp      *string  `json:"azp"`
		AuthTime *float64 `json:"auth_time"`
		Sid      string   `json:"sid"`
		ACR      string   `json:"acr"`
		Tid      string   `json:"tid"`
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	if err := json.Unmarshal(payload, &extra); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	now := m.opts.Now()
	skew := m.opts.ClockSkew
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidIDToken}, a...)...)
	}
	if err := m.checkTenantIssuer(tok.Issuer, extra.Tid); err != nil {
		return nil, err
	}
	// azp: required with several audiences, and must be us when present.
	if len(tok.Audience) > 1 && extra.Azp == nil {
		return nil, bad("several audiences and no azp")
	}
	if extra.Azp != nil && *extra.Azp != m.opts.ClientID {
		return nil, bad("azp is not the client id")
	}
	if tok.IssuedAt.IsZero() {
		return nil, bad("iat missing")
	}
	if tok.IssuedAt.After(now.Add(skew)) {
		return nil, bad("iat in the future")
	}
	if tok.Subject == "" {
		return nil, bad("sub missing")
	}
	switch {
	case refresh:
	case c.Nonce != "" && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(c.Nonce)) != 1:
		return nil, bad("nonce does not match")
	case c.Nonce == "" && tok.Nonce != "":
		return nil, bad("unexpected nonce")
	}
	var authTime time.Time
	if extra.AuthTime != nil {
		authTime = time.Unix(int64(*extra.AuthTime), 0)
	}
	if c.MaxAge > 0 {
		if extra.AuthTime == nil {
			return nil, bad("auth_time missing although max_age was requested")
		}
		if authTime.Add(c.MaxAge).Add(skew).Before(now) {
			return nil, bad("auth_time older than max_age")
		}
	}
	if len(c.ACRValues) > 0 && !slices.Contains(c.ACRValues, extra.ACR) {
		return nil, fmt.Errorf("%w: acr %q not among %q", ErrInsufficientAuthentication, extra.ACR, c.ACRValues)
	}
	return &idClaims{token: received, subject: tok.Subject, issuer: tok.Issuer, sid: extra.Sid, acr: extra.ACR,
		authTime: authTime, raw: payload}, nil
}

func secondsDuration(s int64) time.Duration { return time.Duration(s) * time.Second }
