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
	// DPoPKey, when set, binds the tokens to this key (RFC 9449): the
	// token request carries a proof made with it, and [Tokens.DPoPKey]
	// and [Tokens.Transport] use it afterwards. ECDSA (P-256, P-384,
	// P-521), Ed25519 and RSA keys of at least 2048 bits are accepted.
	// When nil and [Options.DPoP] is set, a fresh P-256 key is made for
	// the grant. Callback uses the key of the pending login.
	DPoPKey crypto.Signer
}

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

// AuthorizationCodeGrant validates the authorization response in r (query
// for GET, form body for POST), redeems its code with PKCE at the token
// endpoint, validates the token response and the ID token, and returns the
// tokens. It mirrors openid-client's authorizationCodeGrant (the README
// has a table of the differences); tokenParams are extra token endpoint
// parameters (for instance RFC 8707 resource), over which the protocol's
// own (grant_type, code, redirect_uri, code_verifier, client
// authentication) are set. With [Checks.DPoPKey] or [Options.DPoP] the
// tokens are DPoP-bound; [Tokens.DPoPKey] and [Tokens.Transport] use them.
// [Middleware.Callback] uses it; call it yourself for custom flows.
//
// The order of checks trusts nothing before it passed: duplicated or
// oversized parameters, state, RFC 9207 iss, then the error response, then
// the code. The code is never redeemed when state or iss fail. Every
// returned error matches a sentinel of this package or is a
// [*ProviderError].
func (m *Middleware) AuthorizationCodeGrant(ctx context.Context, r *http.Request, checks Checks, tokenParams url.Values) (*Tokens, error) {
	var dk *dpopKey
	var err error
	switch {
	case checks.DPoPKey != nil:
		dk, err = dpopKeyFrom(checks.DPoPKey)
	case m.opts.DPoP:
		if dk, err = newDPoPKey(); err != nil {
			err = fmt.Errorf("%w: making a DPoP key: %w", ErrInvalidChecks, err)
		}
	}
	if err != nil {
		return nil, err
	}
	return m.grant(ctx, r, checks, tokenParams, dk)
}

// grant reads the authorization response of r and runs the grant with
// dk, the DPoP key of the grant (nil: Bearer).
func (m *Middleware) grant(ctx context.Context, r *http.Request, checks Checks, tokenParams url.Values, dk *dpopKey) (*Tokens, error) {
	params, p, err := m.authorizationResponse(ctx, r)
	if err != nil {
		return nil, err
	}
	return m.grantWith(ctx, p, params, checks, tokenParams, dk)
}

// authorizationResponse reads the authorization response parameters of r
// (query or form body; with JARM, from the verified response JWT).
func (m *Middleware) authorizationResponse(ctx context.Context, r *http.Request) (url.Values, *provider, error) {
	params, err := callbackParams(r, m.opts.Limits)
	if err != nil {
		return nil, nil, err
	}
	if !m.jarm() && params.Has("response") {
		return nil, nil, fmt.Errorf("%w: a JARM response parameter, and JARM is not in use", ErrInvalidCallback)
	}
	p, err := m.provider(ctx)
	if err != nil {
		return nil, nil, err
	}
	if m.jarm() {
		// JARM: the signed response is checked before anything in it.
		if params, err = m.openJARM(ctx, p, params); err != nil {
			return nil, nil, err
		}
	}
	// The code flow returns a code, never tokens (an injected implicit or
	// hybrid response).
	for _, name := range []string{"id_token", "access_token"} {
		if params.Has(name) {
			return nil, nil, fmt.Errorf("%w: %s in an authorization code response", ErrInvalidCallback, name)
		}
	}
	return params, p, nil
}

// grantWith checks the response parameters and redeems the code.
func (m *Middleware) grantWith(ctx context.Context, p *provider, params url.Values, checks Checks, tokenParams url.Values, dk *dpopKey) (*Tokens, error) {
	if checks.State == "" || checks.CodeVerifier == "" {
		return nil, fmt.Errorf("%w: the expected state and the PKCE code verifier are required", ErrInvalidChecks)
	}
	if subtle.ConstantTimeCompare([]byte(params.Get("state")), []byte(checks.State)) != 1 {
		return nil, ErrStateMismatch
	}
	// With JARM, openJARM has checked the signed iss already.
	if iss, ok := params["iss"]; ok && !m.jarm() {
		if !m.issuerParamOK(p, iss[0]) {
			return nil, ErrIssuerMismatch
		}
	} else if !ok && p.issParameter && !m.jarm() {
		return nil, fmt.Errorf("%w: iss parameter missing", ErrIssuerMismatch)
	}
	if code := params.Get("error"); code != "" {
		return nil, &ProviderError{Code: code, Description: params.Get("error_description"), URI: params.Get("error_uri")}
	}
	code := params.Get("code")
	if code == "" {
		return nil, fmt.Errorf("%w: code missing", ErrInvalidCallback)
	}

	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {m.opts.RedirectURL},
		"code_verifier": {checks.CodeVerifier},
	}
	// The protocol's own parameters are set over the caller's, as
	// openid-client does: a reserved name in tokenParams is dropped
	// (Options.TokenParams refuses them in New).
	for _, set := range []url.Values{m.opts.TokenParams, tokenParams} {
		for k, vs := range set {
			if !slices.Contains(reservedTokenParams, k) {
				form[k] = append(form[k], vs...)
			}
		}
	}
	tr, err := m.tokenRequest(ctx, p, form, dk)
	if err != nil {
		return nil, err
	}
	if !tokenTypeOK(tr.TokenType, dk) {
		return nil, fmt.Errorf("%w: token_type %q", ErrInvalidTokenResponse, tr.TokenType)
	}
	t := &Tokens{
		AccessToken:  tr.AccessToken,
		TokenType:    tr.TokenType,
		RefreshToken: tr.RefreshToken,
		Scope:        tr.Scope,
		now:          m.opts.Now,
		dpop:         dk,
	}
	t.Expiry = tr.ExpiresIn.expiry(m.opts.Now())
	t.noLifetime = tr.ExpiresIn.set && tr.ExpiresIn.seconds == 0
	if tr.IDToken == "" {
		if checks.IDTokenExpected || checks.Nonce != "" || checks.MaxAge > 0 || len(checks.ACRValues) > 0 {
			return nil, fmt.Errorf("%w: id_token missing", ErrInvalidTokenResponse)
		}
		return t, nil
	}
	c, err := m.verifyIDToken(ctx, p, tr.IDToken, checks, false)
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
