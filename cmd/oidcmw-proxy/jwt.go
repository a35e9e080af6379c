package main

import (
	"crypto"
	"fmt"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/idjwt"
	"github.com/oidcmw/oidcmw/internal/appenv"
)

// newSigner makes the signer of --inject-jwt. The issuer is the proxy's
// external origin (OIDC_REDIRECT_URL's), where the app finds the key set
// at /oauth2/jwks; the audience, lifetime and key come from the flags.
// Without --jwt-key-file the key is generated here, so it changes at each
// start and differs between replicas: replicas behind one name must share
// a key file.
func newSigner(j *jwtConfig, issuer string) (*idjwt.Signer, error) {
	var key crypto.Signer
	name := "--inject-jwt"
	if j.keyFile != "" {
		name = "--jwt-key-file"
		k, err := appenv.ReadPrivateKey(j.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--jwt-key-file: %w", err)
		}
		key = k
	}
	s, err := idjwt.NewSigner(issuer, j.audience, j.ttl, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}
