package oidcmw

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Records that hold tokens (sessions) are sealed with AES-256-GCM when
// Options.SecretKeys is set, so that a dump of a shared store (Redis,
// Postgres) leaks no usable token. The store key is the additional data:
// a sealed record moved to another key does not open.

const sealInfo = "oidcmw session record v1"

type sealer struct {
	aeads []cipher.AEAD // newest first; the first seals
}

func newSealer(secrets [][]byte) (*sealer, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	s := &sealer{}
	for i, secret := range secrets {
		if len(secret) < 32 {
			return nil, fmt.Errorf("oidcmw: Options.SecretKeys[%d] has %d bytes, want at least 32", i, len(secret))
		}
		key, err := hkdf.Key(sha256.New, secret, nil, sealInfo, 32)
		if err != nil {
			return nil, err
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	return s, nil
}

// seal returns nonce || ciphertext; with a nil sealer, plain.
func (s *sealer) seal(plain []byte, storeKey string) []byte {
	if s == nil {
		return plain
	}
	a := s.aeads[0]
	out := make([]byte, a.NonceSize(), a.NonceSize()+len(plain)+a.Overhead())
	rand.Read(out)
	return a.Seal(out, out, plain, []byte(storeKey))
}

var errUnseal = errors.New("oidcmw: record does not open with any of the secret keys")

// open reverses seal, trying each key, newest first.
func (s *sealer) open(sealed []byte, storeKey string) ([]byte, error) {
	if s == nil {
		return sealed, nil
	}
	for _, a := range s.aeads {
		n := a.NonceSize()
		if len(sealed) < n+a.Overhead() {
			return nil, errUnseal
		}
		if plain, err := a.Open(nil, sealed[:n], sealed[n:], []byte(storeKey)); err == nil {
			return plain, nil
		}
	}
	return nil, errUnseal
}
