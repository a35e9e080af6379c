package oidctest

import (
	"errors"
	"testing"
)

func TestRotateKey(t *testing.T) {
	s := newTestServer(t, Config{Alg: "ES256"})
	oldRaw, oldHeader, _ := newFlow(s).idToken(t)
	mustVerify(t, s, oldRaw)

	s.RotateKey()
	set := fetchJWKS(t, s)
	if len(set.Keys) != 1 {
		t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
	}
	k := set.Keys[0]
	if k.KeyID == oldHeader["kid"] || k.KeyID == "" {
		t.Errorf("kid after rotation = %q, before %v", k.KeyID, oldHeader["kid"])
	}
	wantEqual(t, "alg", k.Algorithm, "ES256")
	wantEqual(t, "use", k.Use, "sig")
	if !k.IsPublic() {
		t.Error("JWKS holds a private key")
	}
	if _, err := verify(t, s, oldRaw); !errors.Is(err, errNoKey) {
		t.Errorf("old token: err = %v, want the old kid gone", err)
	}
	raw, header, _ := newFlow(s).idToken(t)
	wantEqual(t, "new kid", header["kid"], k.KeyID)
	mustVerify(t, s, raw)

	// Other servers keep the shared cached key.
	other := newTestServer(t, Config{Alg: "ES256"})
	if other.env("").key.kid != oldHeader["kid"] {
		t.Error("RotateKey changed the shared key")
	}
}
