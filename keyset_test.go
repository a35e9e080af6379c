package oidcmw

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func signRS256(t *testing.T, key *rsa.PrivateKey, kid string) string {
	t.Helper()
	return joseSign(t, jose.RS256, key, kid, nil)
}

func TestKeySetSelection(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := newKeySet("", nil, time.Now, defaultLimits)
	ks.loaded = true
	verify := func(raw string) error {
		tok, err := parseJWS(raw, []jose.SignatureAlgorithm{jose.RS256})
		if err != nil {
			return err
		}
		return ks.verify(tok)
	}

	ks.keys = []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "a", Use: "sig"}}
	if err := verify(signRS256(t, k1, "")); err != nil {
		t.Errorf("no kid, one key: %v", err)
	}
	// No kid and several keys fit: refused, as openid-client does (the
	// conformance suite allows refusing or trying each).
	ks.keys = append(ks.keys, jose.JSONWebKey{Key: &k2.PublicKey, KeyID: "b"})
	if err := verify(signRS256(t, k1, "")); err == nil {
		t.Error("no kid with two keys accepted")
	}
	if err := verify(signRS256(t, k2, "b")); err != nil {
		t.Errorf("kid b: %v", err)
	}
	if err := verify(signRS256(t, k2, "a")); err == nil {
		t.Error("kid a with key b's signature accepted")
	}

	// A key of another type does not count among the keys that fit.
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ks.keys = []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "a"}, {Key: &ec.PublicKey, KeyID: "e"}}
	if err := verify(signRS256(t, k1, "")); err != nil {
		t.Errorf("no kid, one RSA key and one EC key: %v", err)
	}
	// A key whose JWK alg names another algorithm is not used.
	ks.keys = []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "a", Algorithm: "PS256"}}
	if err := verify(signRS256(t, k1, "a")); err == nil {
		t.Error("a key with alg PS256 verified an RS256 token")
	}

	// Keys marked for encryption never verify signatures.
	var set jose.JSONWebKeySet
	set.Keys = []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "enc", Use: "enc"}}
	ks.keys = filterSigningKeys(set.Keys)
	if err := verify(signRS256(t, k1, "enc")); err == nil {
		t.Error("key with use=enc verified a signature")
	}
}
