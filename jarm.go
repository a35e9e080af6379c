package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	josejson "github.com/go-jose/go-jose/v4/json"
)

// JARM (JWT Secured Authorization Response Mode for OAuth 2.0): the
// provider signs the authorization response; the signature, iss, aud and
// exp are checked before anything in it is read.

func (m *Middleware) jarm() bool { return strings.HasSuffix(m.opts.ResponseMode, "jwt") }

// jarmClaims are the response JWT's own claims; the rest are the response
// parameters.
var jarmClaims = []string{"aud", "exp", "iat", "nbf", "jti"}

// openJARM verifies the response parameter and returns the authorization
// response parameters it carries (iss among them).
func (m *Middleware) openJARM(ctx context.Context, p *provider, params url.Values) (url.Values, error) {
	raw := params.Get("response")
	if raw == "" || len(params) != 1 {
		return nil, fmt.Errorf("%w: a JARM response is one response parameter", ErrInvalidCallback)
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: JARM response: "+format, append([]any{ErrInvalidCallback}, a...)...)
	}
	if len(raw) > m.opts.Limits.MaxTokenBytes {
		return nil, bad("too large")
	}
	_, payload, err := p.verifyJWT(ctx, p.jarmVerifier, p.jarmAlgs, raw, idToken)
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
	if !m.issuerParamOK(p, std.Issuer) {
		return nil, fmt.Errorf("%w: JARM response from %q", ErrIssuerMismatch, std.Issuer)
	}
	if err := m.checkAudienceExpiry(&std); err != nil {
		return nil, bad("%v", err)
	}
	out := url.Values{}
	for k, v := range claims {
		if s, ok := v.(string); ok && !slices.Contains(jarmClaims, k) {
			out.Set(k, s)
		}
	}
	return out, nil
}

// idTokenKeyAlgs and idTokenEncs are the JWE algorithms accepted for
// encrypted ID tokens.
var (
	idTokenKeyAlgs = []jose.KeyAlgorithm{jose.RSA_OAEP, jose.RSA_OAEP_256,
		jose.ECDH_ES, jose.ECDH_ES_A128KW, jose.ECDH_ES_A192KW, jose.ECDH_ES_A256KW}
	idTokenEncs = []jose.ContentEncryption{jose.A128GCM, jose.A192GCM, jose.A256GCM,
		jose.A128CBC_HS256, jose.A192CBC_HS384, jose.A256CBC_HS512}
)

// decryptIDToken opens an encrypted (nested) ID token with
// Options.DecryptionKey and returns the signed token inside.
func (m *Middleware) decryptIDToken(raw string) (string, error) {
	if m.opts.DecryptionKey == nil {
		return "", fmt.Errorf("%w: encrypted, and no DecryptionKey is configured", ErrInvalidIDToken)
	}
	jwe, err := jose.ParseEncryptedCompact(raw, idTokenKeyAlgs, idTokenEncs)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	inner, err := jwe.Decrypt(m.opts.DecryptionKey)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidIDToken, err)
	}
	return string(inner), nil
}
