package oidcmw

import (
	"context"
	"fmt"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// ID tokens, logout tokens and JARM responses are verified by go-oidc
// (oidc.IDTokenVerifier: JWS parsing with the alg allow-list, signature
// with the provider's keys through keySet, iss and aud), with expiry left
// to the checks of this package, which apply one ClockSkew to exp, nbf,
// iat and auth_time. Every claim a check reads comes from decodeClaims,
// never from go-oidc's case-insensitive decoding.

// verifier is what the checks of every JWT from the provider need, built
// once in New. It knows no store, no token endpoint and no handler.
type verifier struct {
	clientID      string
	now           func() time.Time
	skew          time.Duration // Options.ClockSkew: exp, nbf, iat, auth_time
	maxTokenBytes int
	tenant        tenantRule
	decryptionKey any // Options.DecryptionKey; nil: encrypted ID tokens are refused
}

// verifyState carries what go-oidc's errors and results lose between the
// key set and the caller of the verifier: go-oidc wraps KeySet errors with
// %v, and does not return the header or the payload of a logout token.
type verifyState struct {
	algs        []jose.SignatureAlgorithm
	header      jose.Header
	payload     []byte
	unavailable error // the JWKS could not be refetched
}

type verifyStateKey struct{}

// newVerifier returns a go-oidc verifier for tokens of the provider
// issuer signed with algs and meant for clientID. checkIssuer false leaves
// iss to the caller (a tenant template, or JARM's RFC 9207 rule).
func newVerifier(issuer string, ks *keySet, clientID string, algs []jose.SignatureAlgorithm, checkIssuer bool, now func() time.Time) *oidc.IDTokenVerifier {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = string(a)
	}
	return oidc.NewVerifier(issuer, ks, &oidc.Config{
		ClientID:             clientID,
		SupportedSigningAlgs: names,
		SkipExpiryCheck:      true, // checkAudienceExpiry, with ClockSkew
		SkipIssuerCheck:      !checkIssuer,
		Now:                  now,
	})
}

// jwtKind says which of go-oidc's checks a token gets.
type jwtKind int

const (
	kindIDToken     jwtKind = iota // Verify: ID tokens and JARM responses
	kindLogoutToken                // VerifyLogout
)

// verifyJWT verifies raw with v and returns its header and payload. The
// keys are loaded before v runs, so that a JWKS outage is an error that
// matches ErrProviderUnavailable; any other error means the token is bad.
func (p *provider) verifyJWT(ctx context.Context, v *oidc.IDTokenVerifier, algs []jose.SignatureAlgorithm, raw string, kind jwtKind) (jose.Header, []byte, error) {
	if err := p.keys.ensure(ctx); err != nil {
		return jose.Header{}, nil, err
	}
	st := &verifyState{algs: algs}
	ctx = context.WithValue(ctx, verifyStateKey{}, st)
	var err error
	if kind == kindLogoutToken {
		_, err = v.VerifyLogout(ctx, raw)
	} else {
		_, err = v.Verify(ctx, raw)
	}
	switch {
	case st.unavailable != nil:
		return jose.Header{}, nil, st.unavailable
	case err != nil:
		return jose.Header{}, nil, err
	case st.payload == nil:
		return jose.Header{}, nil, fmt.Errorf("the signature was not checked")
	}
	return st.header, st.payload, nil
}
