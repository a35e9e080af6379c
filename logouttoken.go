package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const (
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"
	// logoutTokenWindow is how old a logout token may be; its jti is
	// remembered at least that long, so a replay inside the window is
	// caught and one outside it is too old.
	logoutTokenWindow = 5 * time.Minute
)

// logoutToken applies OIDC Back-Channel Logout 1.0 §2.6: signature, typ,
// iss, aud, exp, no nonce, jti, sid or sub, the event, and iat within the
// accepted window. The jti replay check is the caller's (it needs the
// store), after this one, so that a token refused here does not burn its
// jti.
func (v *verifier) logoutToken(ctx context.Context, p *provider, raw string) (*jwtClaims, error) {
	if len(raw) > v.maxTokenBytes {
		return nil, badLogoutToken("too large")
	}
	h, payload, err := p.verifyJWT(ctx, p.idVerifier, p.idAlgs, raw, kindLogoutToken)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		return nil, badLogoutToken("%v", err)
	}
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "" && strings.TrimPrefix(strings.ToLower(typ), "application/") != "logout+jwt" {
		return nil, badLogoutToken("typ %.64q", typ)
	}
	var lt jwtClaims
	if err := decodeClaims(payload, &lt); err != nil {
		return nil, badLogoutToken("claims: %v", err)
	}
	if err := v.issuerAudienceExpiry(p, &lt); err != nil {
		return nil, badLogoutToken("%v", err)
	}
	if _, ok := v.tenant.tenantOf(lt.Issuer); v.tenant.on() && !ok {
		return nil, badLogoutToken("iss %q is not a tenant issuer", lt.Issuer)
	}
	if err := v.logoutClaims(&lt); err != nil {
		return nil, err
	}
	return &lt, nil
}

// logoutClaims checks what a logout token has beyond an ID token's claims.
func (v *verifier) logoutClaims(lt *jwtClaims) error {
	switch {
	case lt.Nonce != nil:
		return badLogoutToken("a logout token must not have a nonce")
	case lt.JTI == "":
		return badLogoutToken("jti missing")
	case lt.Subject == "" && lt.SID == "":
		return badLogoutToken("neither sub nor sid")
	}
	if ev := lt.Events[backchannelEvent]; len(ev) == 0 || ev[0] != '{' {
		return badLogoutToken("the back-channel logout event is not an object")
	}
	now := v.now()
	if lt.IssuedAt == nil {
		return badLogoutToken("iat missing")
	}
	if iat := lt.IssuedAt.time(); iat.After(now.Add(v.skew)) || iat.Before(now.Add(-logoutTokenWindow-v.skew)) {
		return badLogoutToken("iat outside the accepted window")
	}
	return nil
}

func badLogoutToken(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidLogoutToken}, a...)...)
}
