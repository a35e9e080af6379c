package oidctest

import (
	"errors"
	"fmt"
	"slices"

	jose "github.com/go-jose/go-jose/v4"
)

// Encrypted ID tokens (OpenID Connect Core §10.2, RFC 7516).

// encryptionAlgs and encryptionEncs are what Encryption may name.
var (
	encryptionAlgs = []string{"RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"}
	encryptionEncs = []string{"A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512", "A128GCM", "A192GCM", "A256GCM"}
)

// encrypter returns what encrypts a signed JWT as enc says: a nested JWT
// with cty "JWT" and the key's kid.
func encrypter(enc *Encryption) (jose.Encrypter, error) {
	switch {
	case !slices.Contains(encryptionAlgs, enc.Alg):
		return nil, fmt.Errorf("unsupported Alg %q", enc.Alg)
	case !slices.Contains(encryptionEncs, enc.Enc):
		return nil, fmt.Errorf("unsupported Enc %q", enc.Enc)
	case enc.Key == nil || !enc.Key.Valid() || !enc.Key.IsPublic():
		return nil, errors.New("the encryption Key must be an RSA or EC public key")
	}
	opts := (&jose.EncrypterOptions{}).WithContentType("JWT").WithType("JWT")
	return jose.NewEncrypter(jose.ContentEncryption(enc.Enc),
		jose.Recipient{Algorithm: jose.KeyAlgorithm(enc.Alg), Key: enc.Key.Key, KeyID: enc.Key.KeyID}, opts)
}

// encryptJWT encrypts the compact JWS signed for enc's client.
func encryptJWT(signed string, enc *Encryption) (string, error) {
	e, err := encrypter(enc)
	if err != nil {
		return "", err
	}
	obj, err := e.Encrypt([]byte(signed))
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}
