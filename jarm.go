package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"

	josejson "github.com/go-jose/go-jose/v4/json"
)

// JARM (JWT Secured Authorization Response Mode for OAuth 2.0): the
// provider signs the authorization response; the signature, iss, aud and
// exp are checked before anything in it is read.

// jarmClaims are the response JWT's own claims; the rest are the response
// parameters.
var jarmClaims = []string{"aud", "exp", "iat", "nbf", "jti"}

// jarmResponse verifies the response parameter and returns the
// authorization response parameters it carries (iss among them).
func (v *verifier) jarmResponse(ctx context.Context, p *provider, params url.Values) (url.Values, error) {
	raw := params.Get("response")
	if raw == "" || len(params) != 1 {
		return nil, fmt.Errorf("%w: a JARM response is one response parameter", ErrInvalidCallback)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: JARM response: "+format, append([]any{ErrInvalidCallback}, a...)...)
	}
	if len(raw) > v.maxTokenBytes {
		return nil, bad("too large")
	}
	_, payload, err := p.verifyJWT(ctx, p.jarmVerifier, p.jarmAlgs, raw, kindIDToken)
	if err != nil {
		if errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		return nil, bad("%v", err)
	}
	var std jwtClaims
	var claims map[string]any
	if err := decodeClaims(payload, &std); err != nil {
		return nil, bad("%v", err)
	}
	if err := josejson.Unmarshal(payload, &claims); err != nil {
		return nil, bad("%v", err)
	}
	if !v.tenant.issuerParamOK(p.issuer, std.Issuer) {
		return nil, fmt.Errorf("%w: JARM response from %q", ErrIssuerMismatch, std.Issuer)
	}
	if err := v.audienceExpiry(&std); err != nil {
		return nil, bad("%v", err)
	}
	out := url.Values{}
	for k, val := range claims {
		if s, ok := val.(string); ok && !slices.Contains(jarmClaims, k) {
			out.Set(k, s)
		}
	}
	return out, nil
}
