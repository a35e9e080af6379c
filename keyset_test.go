package oidcmw

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func signRS256(t *testing.T, key *rsa.PrivateKey, kid string) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestKeySetSelection(t *testing.T) {
	k1, _ := rsa.GenerateKey(rand.Reader, 2048)
	k2, _ := rsa.GenerateKey(rand.Reader, 2048)
	ks := newKeySet("", nil, time.Now, []string{"RS256"}, defaultLimits)
	ks.loaded = true
	ctx := context.Background()

	ks.keys = []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "a", Use: "sig"}}
	if _, err := ks.VerifySignature(ctx, signRS256(t, k1, "")); err != nil {
		t.Errorf("no kid, one key: %v", err)
	}
	// No kid and several keys fit: refused, as openid-client does (the
	// conformance suite allows refusing or trying each).
	ks.keys = append(ks.keys, jose.JSONWebKey{Key: &k2.PublicKey, KeyID: "b"})
	if _, err := ks.VerifySignature(ctx, signRS256(t, k1, "")); err == nil {
		t.Error("no kid with two keys accepted")
	}
	if _, err := ks.VerifySignature(ctx, signRS256(t, k2, "b")); err != nil {
		t.Errorf("kid b: %v", err)
	}
	if _, err := ks.VerifySignature(ctx, signRS256(t, k2, "a")); err == nil {
		t.Error("kid a with key b's signature accepted")
	}

	// Keys marked for encryption never verify signatures.
	var set jose.JSONWebKeySet
	set.Keys = []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "enc", Use: "enc"}}
	ks.keys = filterSigningKeys(set.Keys)
	if _, err := ks.VerifySignature(ctx, signRS256(t, k1, "enc")); err == nil {
		t.Error("key with use=enc verified a signature")
	}
}
