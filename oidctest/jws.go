package oidctest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/go-jose/go-jose/v4"
)

// jwsSpec is what signs a token: the header's alg, kid and typ and the
// key.
type jwsSpec struct {
	alg string // "none" produces an unsigned token
	kid string // "" leaves kid out of the header
	typ string // "" means "JWT"
	key any    // private key, or []byte for HMAC; nil for "none"
}

// signJWT returns claims as a compact JWS.
func signJWT(spec jwsSpec, claims map[string]any) (string, error) {
	typ := spec.typ
	if typ == "" {
		typ = "JWT"
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oidctest: encoding claims: %w", err)
	}
	if spec.alg == "none" {
		header := map[string]any{"alg": "none", "typ": typ}
		if spec.kid != "" {
			header["kid"] = spec.kid
		}
		h, err := json.Marshal(header)
		if err != nil {
			return "", fmt.Errorf("oidctest: encoding header: %w", err)
		}
		enc := base64.RawURLEncoding
		return enc.EncodeToString(h) + "." + enc.EncodeToString(payload) + ".", nil
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if spec.kid != "" {
		opts = opts.WithHeader("kid", spec.kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(spec.alg), Key: spec.key}, opts)
	if err != nil {
		return "", fmt.Errorf("oidctest: signer: %w", err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oidctest: signing: %w", err)
	}
	return obj.CompactSerialize()
}
