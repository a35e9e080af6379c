package oidcmw

import (
	"crypto"
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
