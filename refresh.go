package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"
)

// refresh redeems the session's refresh token (RFC 6749 §6), with a DPoP
// proof when the session has a DPoP key, and returns the updated record.
// The provider may rotate the refresh token; the new one is kept, the old
// one when none is returned. A refreshed ID token must keep iss and sub,
// and auth_time when it has one (OIDC Core §12.2); aud is checked as at
// login. With userInfo the UserInfo response is fetched again. Errors
// wrapping errSessionEnded end the session (invalid_grant, a changed
// subject, a bad ID token); others are outages.
func (tc *tokenClient) refresh(ctx context.Context, p *provider, old *sessionRecord, userInfo bool) (*sessionRecord, error) {
	dk, err := parseDPoPKey(old.id.dpop)
	if err != nil {
		return nil, fmt.Errorf("%w: unreadable DPoP key: %w", errSessionEnded, err)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old.id.RefreshToken}}
	for k, vs := range tc.tokenParams {
		form[k] = append(form[k], vs...)
	}
	tr, err := tc.request(ctx, p, form, dk)
	if err != nil {
		var pe *ProviderError
		if errors.As(err, &pe) && pe.Code == "invalid_grant" {
			return nil, fmt.Errorf("%w: %w", errSessionEnded, err)
		}
		return nil, err
	}
	if !tokenTypeOK(tr.TokenType, dk) {
		return nil, fmt.Errorf("%w: token_type %q", ErrInvalidTokenResponse, tr.TokenType)
	}
	rec := *old
	id := &rec.id
	id.AccessToken, id.TokenType = tr.AccessToken, tr.TokenType
	if tr.RefreshToken != "" {
		id.RefreshToken = tr.RefreshToken
	}
	id.Expiry = time.Time{} // expires_in absent or 0: no refresh ahead of time
	if tr.ExpiresIn.seconds > 0 {
		id.Expiry = tr.ExpiresIn.expiry(tc.now())
	}
	if tr.Scope != "" {
		id.Scope = tr.Scope
	}
	if tr.IDToken != "" {
		if err := tc.refreshedIDToken(ctx, p, tr.IDToken, id); err != nil {
			return nil, err
		}
	}
	if userInfo {
		info, err := tc.userInfo(ctx, p, id)
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

// refreshedIDToken checks a refreshed ID token against the session's
// identity and takes it into id.
func (tc *tokenClient) refreshedIDToken(ctx context.Context, p *provider, raw string, id *Identity) error {
	c, err := tc.verify.idToken(ctx, p, raw, Checks{}, true)
	switch {
	case errors.Is(err, ErrProviderUnavailable):
		return err
	case err != nil:
		return fmt.Errorf("%w: %w", errSessionEnded, err)
	case c.issuer != id.Issuer || c.subject != id.Subject:
		return fmt.Errorf("%w: refreshed ID token names another issuer or subject", errSessionEnded)
	case !id.AuthTime.IsZero() && !c.authTime.IsZero() && !c.authTime.Equal(id.AuthTime):
		return fmt.Errorf("%w: refreshed ID token changed auth_time", errSessionEnded)
	}
	id.IDToken, id.RawClaims = c.token, c.raw
	if c.acr != "" {
		id.ACR = c.acr
	}
	return nil
}
