package oidcmw

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// ID tokens, logout tokens and JARM responses are compact JWS (RFC 7515),
// parsed once here: split, header and payload decoded, then the signature
// checked with a key of the provider's JWKS (keySet) by crypto/rsa,
// crypto/ecdsa or crypto/ed25519 (RFC 7518 §3, RFC 8037).

// maxJWSHeader bounds the header of a token before it is decoded.
const maxJWSHeader = 4096

// jws is a compact JWS, decoded but not yet verified.
type jws struct {
	alg, kid, typ string
	signingInput  string // BASE64URL(header) "." BASE64URL(payload)
	payload       []byte
	signature     []byte
}

var errMalformedJWS = errors.New("malformed JWT")

// parseJWS decodes raw and checks that its alg is one of algs. A header
// with "crit" is refused: no JWS extension is understood here
// (RFC 7515 §4.1.11).
func parseJWS(raw string, algs []jose.SignatureAlgorithm) (*jws, error) {
	head, rest, ok := strings.Cut(raw, ".")
	if !ok || len(head) > maxJWSHeader {
		return nil, errMalformedJWS
	}
	body, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return nil, errMalformedJWS
	}
	hb, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil, errMalformedJWS
	}
	var h struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Typ  string          `json:"typ"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return nil, errors.New("malformed JWT header")
	}
	if h.Crit != nil {
		return nil, errors.New("JWT header has critical extensions")
	}
	if !slices.Contains(algs, jose.SignatureAlgorithm(h.Alg)) {
		return nil, fmt.Errorf("JWT alg %.64q is not accepted", h.Alg)
	}
	t := &jws{alg: h.Alg, kid: h.Kid, typ: h.Typ, signingInput: raw[:len(head)+1+len(body)]}
	if t.payload, err = base64.RawURLEncoding.DecodeString(body); err != nil {
		return nil, errMalformedJWS
	}
	if t.signature, err = base64.RawURLEncoding.DecodeString(sig); err != nil {
		return nil, errMalformedJWS
	}
	return t, nil
}

// verifyJWS returns the payload of raw, a compact JWS signed with one of
// algs by a key of the provider's JWKS, which is fetched first when needed.
// Errors wrap ErrProviderUnavailable when the JWKS cannot be had; any
// other error means the token is bad.
func (p *provider) verifyJWS(ctx context.Context, raw string, algs []jose.SignatureAlgorithm) (*jws, error) {
	t, err := parseJWS(raw, algs)
	if err != nil {
		return nil, err
	}
	if err := p.keys.ensure(ctx, t.kid); err != nil {
		return nil, err
	}
	if err := p.keys.verify(t); err != nil {
		return nil, err
	}
	return t, nil
}

// verifySignature checks sig over input with key for alg. key has been
// checked to fit alg's family (keyFitsAlg).
func verifySignature(key any, alg, input string, sig []byte) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		h := hashOf(alg[2:])
		if h == 0 {
			return false
		}
		digest := digestOf(h, input)
		if alg[0] == 'P' {
			return rsa.VerifyPSS(k, h, digest, sig, nil) == nil
		}
		return rsa.VerifyPKCS1v15(k, h, digest, sig) == nil
	case *ecdsa.PublicKey:
		// The curve is the alg's (RFC 7518 §3.4), and r and s have its
		// exact length: r || 0x00 || s would otherwise verify too.
		curve, size, h := ecParams(alg)
		if curve == nil || k.Curve != curve || len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digestOf(h, input), r, s)
	case ed25519.PublicKey:
		return ed25519.Verify(k, []byte(input), sig)
	}
	return false
}

func hashOf(bits string) crypto.Hash {
	switch bits {
	case "256":
		return crypto.SHA256
	case "384":
		return crypto.SHA384
	case "512":
		return crypto.SHA512
	}
	return 0
}

// ecParams gives the curve, the size of r and of s, and the hash of an
// ES* algorithm (RFC 7518 §3.4).
func ecParams(alg string) (elliptic.Curve, int, crypto.Hash) {
	switch alg {
	case "ES256":
		return elliptic.P256(), 32, crypto.SHA256
	case "ES384":
		return elliptic.P384(), 48, crypto.SHA384
	case "ES512":
		return elliptic.P521(), 66, crypto.SHA512
	}
	return nil, 0, 0
}

func digestOf(h crypto.Hash, input string) []byte {
	hh := h.New()
	hh.Write([]byte(input))
	return hh.Sum(nil)
}
