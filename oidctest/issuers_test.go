package oidctest

import (
	"testing"
)

func TestSeveralIssuers(t *testing.T) {
	for _, tt := range []struct {
		name     string
		distinct bool
	}{{"shared keys", false}, {"DistinctKeys", true}} {
		t.Run(tt.name, func(t *testing.T) {
			a := newTestServer(t, Config{Alg: "ES256", DistinctKeys: tt.distinct})
			b := newTestServer(t, Config{Alg: "ES256", DistinctKeys: tt.distinct})
			if a.Issuer() == b.Issuer() {
				t.Fatal("two servers share an issuer")
			}
			rawA, headerA, claimsA := newFlow(a).idToken(t)
			_, headerB, _ := newFlow(b).idToken(t)
			wantEqual(t, "iss", claimsA["iss"], a.URL)
			sameKid := headerA["kid"] == headerB["kid"]
			_, err := verify(t, b, rawA) // A's ID token checked against B's JWKS
			if tt.distinct {
				if sameKid || err == nil {
					t.Errorf("DistinctKeys: same kid %v, A's token verifies with B's keys: %v", sameKid, err == nil)
				}
			} else if !sameKid || err != nil {
				// The default: one key per Alg for the whole process, so
				// only iss tells the providers' tokens apart.
				t.Errorf("shared key expected: same kid %v, err %v", sameKid, err)
			}
			// Each server's state is its own: A's code is unknown to B.
			f := newFlow(a)
			code := f.code(t)
			f.s = b
			status, _, body := f.redeem(t, code)
			wantOAuthError(t, status, body, 400, "invalid_grant")
		})
	}
	// DistinctKeys servers also differ from each other's unrelated key
	// (the one InvalidSignature uses).
	s := newTestServer(t, Config{DistinctKeys: true})
	if s.env("").key.kid == cachedKey("RS256", 0).kid || s.env("").key.kid == cachedKey("RS256", 1).kid {
		t.Error("DistinctKeys server signs with a cached key")
	}
}
