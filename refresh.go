package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// refresh redeems the session's refresh token (RFC 6749 §6) and returns the
// updated record. The provider may rotate the refresh token; the new one is
// kept (x/oauth2 keeps the old one when none is returned). A refreshed ID
// token must keep iss and sub, and auth_time when it has one (OIDC Core
// §12.2); aud is checked as at login. Errors wrapping errSessionEnded end
// the session (invalid_grant, a changed subject, a bad ID token); others
// are outages.
func (m *Middleware) refresh(ctx context.Context, old *sessionRecord) (*sessionRecord, error) {
	p, err := m.provider(ctx)
	if err != nil {
		return nil, err
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, m.opts.HTTPClient)
	expired := &oauth2.Token{RefreshToken: old.id.RefreshToken, Expiry: time.Unix(1, 0)}
	tok, err := p.oauth.TokenSource(ctx, expired).Token()
	if err != nil {
		err = classifyTokenError(err)
		var pe *ProviderError
		if errors.As(err, &pe) && pe.Code == "invalid_grant" {
			return nil, fmt.Errorf("%w: %w", errSessionEnded, err)
		}
		return nil, err
	}
	if !strings.EqualFold(tok.TokenType, "Bearer") {
		return nil, fmt.Errorf("%w: token_type %q", ErrInvalidTokenResponse, tok.TokenType)
	}
	rec := *old
	id := &rec.id
	id.AccessToken, id.TokenType, id.RefreshToken = tok.AccessToken, tok.TokenType, tok.RefreshToken
	id.Expiry = time.Time{}
	if secs, ok := expiresIn(tok); ok {
		id.Expiry = m.opts.Now().Add(time.Duration(secs) * time.Second)
	}
	if scope := extraString(tok, "scope"); scope != "" {
		id.Scope = scope
	}
	if raw := extraString(tok, "id_token"); raw != "" {
		c, err := m.verifyIDToken(ctx, p, raw, Checks{}, true)
		switch {
		case errors.Is(err, ErrProviderUnavailable):
			return nil, err
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errSessionEnded, err)
		case c.issuer != old.id.Issuer || c.subject != old.id.Subject:
			return nil, fmt.Errorf("%w: refreshed ID token names another issuer or subject", errSessionEnded)
		case !old.id.AuthTime.IsZero() && !c.authTime.IsZero() && !c.authTime.Equal(old.id.AuthTime):
			return nil, fmt.Errorf("%w: refreshed ID token changed auth_time", errSessionEnded)
		}
		id.IDToken, id.RawClaims = raw, c.raw
		if c.acr != "" {
			id.ACR = c.acr
		}
	}
	if m.opts.FetchUserInfo {
		info, err := m.fetchUserInfo(ctx, p, id.AccessToken, id.Subject)
		switch {
		case errors.Is(err, ErrInvalidUserInfo):
			return nil, fmt.Errorf("%w: %w", errSessionEnded, err)
		case err != nil:
			return nil, err
		}
		id.UserInfo = info
	}
	return &rec, nil
}
