package oidcmw

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Client authentication at the token, PAR and revocation endpoints
// (RFC 6749 §2.3, OIDC Core §9, RFC 7523).

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// signingAlg picks the JWS algorithm for a private key.
func signingAlg(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		return jose.RS256, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
	case ed25519.PublicKey:
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("oidcmw: unsupported private key type %T", key)
}

// thumbprint is the RFC 7638 JWK thumbprint of a public key, base64url.
func thumbprint(pub crypto.PublicKey) (string, error) {
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// signJWT signs claims as a compact JWS.
func signJWT(alg jose.SignatureAlgorithm, key any, opts *jose.SignerOptions, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// clientJWT signs claims for the client: with Options.ClientKey, else with
// the client secret (HS256, for client_secret_jwt and request objects of
// clients without a key).
func (tc *tokenClient) clientJWT(typ string, claims map[string]any) (string, error) {
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	if tc.key != nil {
		return signJWT(tc.keyAlg, tc.key, opts.WithHeader("kid", tc.keyID), claims)
	}
	return signJWT(jose.HS256, []byte(tc.secret), opts, claims)
}

// authenticate adds the client's credentials to a request to one of the
// provider's endpoints: form is the request body, still to be encoded.
func (tc *tokenClient) authenticate(req *http.Request, form url.Values, p *provider) error {
	switch p.authMethod {
	case authSecretBasic:
		req.SetBasicAuth(url.QueryEscape(tc.clientID), url.QueryEscape(tc.secret))
	case authSecretPost:
		form.Set("client_id", tc.clientID)
		form.Set("client_secret", tc.secret)
	case authSecretJWT, authPrivateKeyJWT:
		now := tc.now()
		assertion, err := tc.clientJWT("", map[string]any{
			"iss": tc.clientID,
			"sub": tc.clientID,
			"aud": p.issuer, // RFC 7523 §3; FAPI 2.0 wants the issuer
			"jti": rand.Text(),
			"iat": now.Unix(),
			"exp": now.Add(time.Minute).Unix(),
		})
		if err != nil {
			return err
		}
		form.Set("client_id", tc.clientID)
		form.Set("client_assertion_type", assertionType)
		form.Set("client_assertion", assertion)
	default: // none
		form.Set("client_id", tc.clientID)
	}
	return nil
}
