package oidcmw

import (
	"context"
	"crypto"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Tokens is a validated token response.
type Tokens struct {
	AccessToken  string
	TokenType    string    // as the provider spelled it; "Bearer" in any case; "DPoP" when bound
	RefreshToken string    // empty when none was issued
	IDToken      string    // raw, validated; empty when none was issued
	Expiry       time.Time // from expires_in (the time of the response for 0); zero when absent
	Scope        string    // granted scope when the provider returned it

	subject, issuer, sid, acr string
	authTime                  time.Time
	claims, userinfo          []byte
	now                       func() time.Time
	dpop                      *dpopKey
	noLifetime                bool // expires_in was 0
}

// Claims decodes the validated ID token's claims into v.
func (t *Tokens) Claims(v any) error {
	if len(t.claims) == 0 {
		return errors.New("oidcmw: token response had no ID token")
	}
	return json.Unmarshal(t.claims, v)
}

// ExpiresIn is the access token's remaining lifetime by the middleware's
// clock: 0 once expired (and for expires_in 0), -1 only when the provider
// gave no expires_in.
func (t *Tokens) ExpiresIn() time.Duration {
	if t.Expiry.IsZero() {
		return -1
	}
	return max(t.Expiry.Sub(t.now()), 0)
}

// DPoPKey is the key the tokens are bound to (RFC 9449): [Checks.DPoPKey],
// or the key made for the grant with [Options.DPoP]; nil without DPoP.
// Proofs for calls with the access token are made with it;
// [Tokens.Transport] does that.
func (t *Tokens) DPoPKey() crypto.Signer {
	if t.dpop == nil {
		return nil
	}
	return t.dpop.key
}

// Transport returns an http.RoundTripper that calls APIs with the access
// token, as [Identity.Transport] does: DPoP-bound with a fresh proof per
// request when the provider bound it, Bearer otherwise. base may be nil
// (http.DefaultTransport).
func (t *Tokens) Transport(base http.RoundTripper) http.RoundTripper {
	id := t.identity()
	return newAuthTransport(&id, t.dpop, base, t.now)
}

func (t *Tokens) setIDToken(c *idClaims) {
	t.IDToken, t.subject, t.issuer, t.sid, t.acr, t.authTime, t.claims =
		c.token, c.subject, c.issuer, c.sid, c.acr, c.authTime, c.raw
}

func (t *Tokens) identity() Identity {
	exp := t.Expiry
	if t.noLifetime {
		exp = time.Time{} // timed like an absent lifetime: no refresh on every request
	}
	return Identity{
		Subject: t.subject, Issuer: t.issuer, IDToken: t.IDToken,
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		TokenType: t.TokenType, Scope: t.Scope, Expiry: exp,
		AuthTime: t.authTime, ACR: t.acr, RawClaims: t.claims, UserInfo: t.userinfo,
		dpop: t.dpop.marshal(),
	}
}

// grant checks the authorization response parameters (state, RFC 9207
// iss, the error response, the code) and redeems the code with dk, the
// grant's DPoP key (nil: Bearer). With JARM, jarm is set: the signed iss
// has been checked already.
func (tc *tokenClient) grant(ctx context.Context, p *provider, params url.Values, checks Checks, tokenParams url.Values, dk *dpopKey, jarm bool) (*Tokens, error) {
	code, err := tc.checkResponse(p, params, checks, jarm)
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {tc.redirectURL},
		"code_verifier": {checks.CodeVerifier},
	}
	// The protocol's own parameters are set over the caller's, as
	// openid-client does: a reserved name in tokenParams is dropped
	// (Options.TokenParams refuses them in New).
	for _, set := range []url.Values{tc.tokenParams, tokenParams} {
		for k, vs := range set {
			if !slices.Contains(reservedTokenParams, k) {
				form[k] = append(form[k], vs...)
			}
		}
	}
	tr, err := tc.request(ctx, p, form, dk)
	if err != nil {
		return nil, err
	}
	return tc.tokens(ctx, p, tr, checks, dk)
}

// checkResponse applies the checks that come before the code is redeemed,
// in an order that trusts nothing before it passed, and returns the code.
func (tc *tokenClient) checkResponse(p *provider, params url.Values, checks Checks, jarm bool) (string, error) {
	if checks.State == "" || checks.CodeVerifier == "" {
		return "", fmt.Errorf("%w: the expected state and the PKCE code verifier are required", ErrInvalidChecks)
	}
	if subtle.ConstantTimeCompare([]byte(params.Get("state")), []byte(checks.State)) != 1 {
		return "", ErrStateMismatch
	}
	if iss, ok := params["iss"]; ok && !jarm {
		if !tc.verify.tenant.issuerParamOK(p.issuer, iss[0]) {
			return "", ErrIssuerMismatch
		}
	} else if !ok && p.issParameter && !jarm {
		return "", fmt.Errorf("%w: iss parameter missing", ErrIssuerMismatch)
	}
	if code := params.Get("error"); code != "" {
		return "", &ProviderError{Code: code, Description: params.Get("error_description"), URI: params.Get("error_uri")}
	}
	code := params.Get("code")
	if code == "" {
		return "", fmt.Errorf("%w: code missing", ErrInvalidCallback)
	}
	return code, nil
}

// tokens checks a token response of the code grant and its ID token.
func (tc *tokenClient) tokens(ctx context.Context, p *provider, tr *tokenResponse, checks Checks, dk *dpopKey) (*Tokens, error) {
	if !tokenTypeOK(tr.TokenType, dk) {
		return nil, fmt.Errorf("%w: token_type %q", ErrInvalidTokenResponse, tr.TokenType)
	}
	t := &Tokens{
		AccessToken:  tr.AccessToken,
		TokenType:    tr.TokenType,
		RefreshToken: tr.RefreshToken,
		Scope:        tr.Scope,
		Expiry:       tr.ExpiresIn.expiry(tc.now()),
		now:          tc.now,
		dpop:         dk,
		noLifetime:   tr.ExpiresIn.set && tr.ExpiresIn.seconds == 0,
	}
	if tr.IDToken == "" {
		if checks.IDTokenExpected || checks.Nonce != "" || checks.MaxAge > 0 || len(checks.ACRValues) > 0 {
			return nil, fmt.Errorf("%w: id_token missing", ErrInvalidTokenResponse)
		}
		return t, nil
	}
	c, err := tc.verify.idToken(ctx, p, tr.IDToken, checks, false)
	if err != nil {
		return nil, err
	}
	t.setIDToken(c)
	return t, nil
}

// tokenTypeOK: Bearer in any case (RFC 6749 §5.1); with DPoP also DPoP
// (RFC 9449 §5; a provider that does not bind the token answers Bearer).
func tokenTypeOK(typ string, dk *dpopKey) bool {
	return strings.EqualFold(typ, "Bearer") || dk != nil && strings.EqualFold(typ, "DPoP")
}
