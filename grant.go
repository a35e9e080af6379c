package oidcmw

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// Checks are what the client saved when it started a login and expects of
// the authorization response, as in openid-client's
// AuthorizationCodeGrantChecks.
type Checks struct {
	// State is the state sent in the authorization request. Required.
	State string
	// CodeVerifier is the PKCE (RFC 7636) S256 code verifier. Required.
	CodeVerifier string
	// Nonce is the nonce sent in the authorization request. When set, the
	// ID token is required and must carry it; when empty, an ID token that
	// carries a nonce is refused.
	Nonce string
	// MaxAge, when positive, requires an ID token whose auth_time is at most
	// MaxAge (plus clock skew) in the past.
	MaxAge time.Duration
	// ACRValues, when set, requires an ID token whose acr is one of them.
	ACRValues []string
	// IDTokenExpected requires an ID token in the token response. It is
	// implied by Nonce, MaxAge and ACRValues.
	IDTokenExpected bool
}

// Tokens is a validated token response.
type Tokens struct {
	AccessToken  string
	TokenType    string    // as the provider spelled it; "Bearer" in any case
	RefreshToken string    // empty when none was issued
	IDToken      string    // raw, validated; empty when none was issued
	Expiry       time.Time // from expires_in; zero when absent
	Scope        string    // granted scope when the provider returned it

	subject, issuer, sid, acr string
	authTime                  time.Time
	claims, userinfo          []byte
	now                       func() time.Time
}

// Claims decodes the validated ID token's claims into v.
func (t *Tokens) Claims(v any) error {
	if len(t.claims) == 0 {
		return errors.New("oidcmw: token response had no ID token")
	}
	return json.Unmarshal(t.claims, v)
}

// ExpiresIn is the access token's remaining lifetime by the middleware's
// clock: 0 once expired, -1 when the provider gave no expires_in.
func (t *Tokens) ExpiresIn() time.Duration {
	if t.Expiry.IsZero() {
		return -1
	}
	return max(t.Expiry.Sub(t.now()), 0)
}

func (t *Tokens) setIDToken(raw string, c *idClaims) {
	t.IDToken, t.subject, t.issuer, t.sid, t.acr, t.authTime, t.claims =
		raw, c.subject, c.issuer, c.sid, c.acr, c.authTime, c.raw
}

func (t *Tokens) identity() Identity {
	return Identity{
		Subject: t.subject, Issuer: t.issuer, IDToken: t.IDToken,
		AccessToken: t.AccessToken, RefreshToken: t.RefreshToken,
		TokenType: t.TokenType, Scope: t.Scope, Expiry: t.Expiry,
		AuthTime: t.authTime, ACR: t.acr, RawClaims: t.claims, UserInfo: t.userinfo,
	}
}

// AuthorizationCodeGrant validates the authorization response in r (query
// for GET, form body for POST), redeems its code with PKCE at the token
// endpoint, validates the token response and the ID token, and returns the
// tokens. It mirrors openid-client's authorizationCodeGrant; tokenParams are
// extra token endpoint parameters (for instance RFC 8707 resource).
// [Middleware.Callback] uses it; call it yourself for custom flows.
//
// The order of checks trusts nothing before it passed: duplicated or
// oversized parameters, state, RFC 9207 iss, then the error response, then
// the code. The code is never redeemed when state or iss fail. Every
// returned error matches a sentinel of this package or is a
// [*ProviderError].
func (m *Middleware) AuthorizationCodeGrant(ctx context.Context, r *http.Request, checks Checks, tokenParams url.Values) (*Tokens, error) {
	if checks.State == "" || checks.CodeVerifier == "" {
		return nil, errors.New("oidcmw: checks need the expected state and the PKCE code verifier")
	}
	params, err := callbackParams(r, m.opts.Limits)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(params.Get("state")), []byte(checks.State)) != 1 {
		return nil, ErrStateMismatch
	}
	p, err := m.provider(ctx)
	if err != nil {
		return nil, err
	}
	if iss, ok := params["iss"]; ok {
		if !m.issuerParamOK(p, iss[0]) {
			return nil, ErrIssuerMismatch
		}
	} else if p.issParameter {
		return nil, fmt.Errorf("%w: iss parameter missing", ErrIssuerMismatch)
	}
	if code := params.Get("error"); code != "" {
		return nil, &ProviderError{Code: code, Description: params.Get("error_description"), URI: params.Get("error_uri")}
	}
	code := params.Get("code")
	if code == "" {
		return nil, fmt.Errorf("%w: code missing", ErrInvalidCallback)
	}

	opts := []oauth2.AuthCodeOption{oauth2.VerifierOption(checks.CodeVerifier)}
	for _, set := range []url.Values{m.opts.TokenParams, tokenParams} {
		for k, vs := range set {
			for _, v := range vs {
				opts = append(opts, oauth2.SetAuthURLParam(k, v))
			}
		}
	}
	tok, err := p.oauth.Exchange(context.WithValue(ctx, oauth2.HTTPClient, m.opts.HTTPClient), code, opts...)
	if err != nil {
		return nil, classifyTokenError(err)
	}
	if !strings.EqualFold(tok.TokenType, "Bearer") {
		return nil, fmt.Errorf("%w: token_type %q", ErrInvalidTokenResponse, tok.TokenType)
	}
	t := &Tokens{
		AccessToken:  tok.AccessToken,
		TokenType:    tok.TokenType,
		RefreshToken: tok.RefreshToken,
		Scope:        extraString(tok, "scope"),
		now:          m.opts.Now,
	}
	if secs, ok := expiresIn(tok); ok {
		t.Expiry = m.opts.Now().Add(time.Duration(secs) * time.Second)
	}
	rawID := extraString(tok, "id_token")
	if rawID == "" {
		if checks.IDTokenExpected || checks.Nonce != "" || checks.MaxAge > 0 || len(checks.ACRValues) > 0 {
			return nil, fmt.Errorf("%w: id_token missing", ErrInvalidTokenResponse)
		}
		return t, nil
	}
	c, err := m.verifyIDToken(ctx, p, rawID, checks, false)
	if err != nil {
		return nil, err
	}
	t.setIDToken(rawID, c)
	return t, nil
}

// callbackParams reads the authorization response parameters: the query of
// a GET, the form body of a POST. A parameter given twice, an oversized
// one (Limits), or any other method is refused.
func callbackParams(r *http.Request, lim Limits) (url.Values, error) {
	var raw string
	switch r.Method {
	case http.MethodGet:
		raw = r.URL.RawQuery
	case http.MethodPost:
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			return nil, fmt.Errorf("%w: content type %q", ErrInvalidCallback, ct)
		}
		if r.PostForm != nil {
			return checkParams(r.PostForm, lim)
		}
		r.Body = http.MaxBytesReader(nil, r.Body, int64(lim.MaxRequestBytes))
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidCallback, err)
		}
		return checkParams(r.PostForm, lim)
	default:
		return nil, fmt.Errorf("%w: method %s", ErrInvalidCallback, r.Method)
	}
	if len(raw) > lim.MaxRequestBytes {
		return nil, fmt.Errorf("%w: query too long", ErrInvalidCallback)
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidCallback, err)
	}
	return checkParams(v, lim)
}

func checkParams(v url.Values, lim Limits) (url.Values, error) {
	for k, vs := range v {
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w: parameter %q repeated", ErrInvalidCallback, k)
		}
		if len(vs[0]) > lim.MaxParamBytes {
			return nil, fmt.Errorf("%w: parameter %q too long", ErrInvalidCallback, k)
		}
	}
	return v, nil
}

// classifyTokenError maps x/oauth2's errors: a transport failure or a 5xx
// is an outage, an OAuth error body a ProviderError, and anything else a
// broken token response.
func classifyTokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" && status >= 400 && status < 500 {
			return &ProviderError{Code: re.ErrorCode, Description: re.ErrorDescription, URI: re.ErrorURI, TokenEndpoint: true}
		}
		return &unavailable{what: "token endpoint", err: fmt.Errorf("status %d", status)}
	}
	var ue *url.Error
	if errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &unavailable{what: "token endpoint", err: err}
	}
	return fmt.Errorf("%w: %v", ErrInvalidTokenResponse, err)
}

func extraString(tok *oauth2.Token, key string) string {
	s, _ := tok.Extra(key).(string)
	return s
}

// expiresIn reads expires_in in seconds; some providers send it as a string.
func expiresIn(tok *oauth2.Token) (int64, bool) {
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		return int64(v), v > 0
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		return n, err == nil && n > 0
	}
	return 0, false
}
