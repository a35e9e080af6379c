package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"
)

// signingKey is an asymmetric key that signs ID tokens.
type signingKey struct {
	alg  string
	kid  string
	priv crypto.Signer
}

func supportedAlg(alg string) bool {
	switch alg {
	case "RS256", "PS256", "ES256", "EdDSA":
		return true
	}
	return false
}

// newSigningKey generates a key for alg; its kid is derived from the RFC
// 7638 thumbprint.
func newSigningKey(alg string) *signingKey {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "PS256":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic("oidctest: unsupported alg " + alg)
	}
	if err != nil {
		panic("oidctest: generating key: " + err.Error())
	}
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		panic("oidctest: key thumbprint: " + err.Error())
	}
	return &signingKey{alg: alg, kid: base64.RawURLEncoding.EncodeToString(tp[:12]), priv: priv}
}

type keySlot struct {
	alg string
	n   int // 0: the servers' initial key; 1: an unrelated key
}

type lazyKey struct {
	once sync.Once
	key  *signingKey
}

// keyCache holds keys shared by all servers in the process, generated on
// first use, so that many servers in one test binary start fast.
var keyCache sync.Map // keySlot -> *lazyKey

func cachedKey(alg string, n int) *signingKey {
	v, _ := keyCache.LoadOrStore(keySlot{alg, n}, new(lazyKey))
	lk := v.(*lazyKey)
	lk.once.Do(func() { lk.key = newSigningKey(alg) })
	return lk.key
}

// jwk returns the public JWK with kid, alg and use=sig.
func (k *signingKey) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: k.alg, Use: "sig"}
}

// publicPEM returns the PEM-encoded SubjectPublicKeyInfo, the bytes that
// alg-confusion attacks use as an HMAC secret.
func (k *signingKey) publicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.priv.Public())
	if err != nil {
		panic("oidctest: marshalling public key: " + err.Error())
	}
	b := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	if len(b) < sha256.Size {
		panic("oidctest: public key too short for HS256")
	}
	return b
}

// RotateKey replaces the signing key with a freshly generated one with a
// new kid. The old key leaves the JWKS at once; the next tokens are signed
// with the new key. ID tokens signed with an old key are still accepted as
// id_token_hint at the end_session endpoint.
func (s *Server) RotateKey() {
	k := newSigningKey(s.alg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pastKeys = append(s.pastKeys, s.key)
	s.key = k
}

// jwks serves the current public key as a JWK Set (RFC 7517 §5).
func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	e := s.env("")
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{e.key.jwk()}}
	for _, h := range e.hooks {
		if h.jwks != nil {
			h.jwks(e, &set)
		}
	}
	writeJSON(w, http.StatusOK, set)
}
