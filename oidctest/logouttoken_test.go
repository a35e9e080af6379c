package oidctest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func TestLogoutToken(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			s := newTestServer(t, Config{Alg: alg, Now: func() time.Time { return behaviorEpoch }})
			raw, err := s.LogoutToken("rp", "alice", "sid-1", "")
			if err != nil {
				t.Fatal(err)
			}
			h, _ := decodeJWT(t, raw)
			wantEqual(t, "typ", h["typ"], "logout+jwt")
			wantEqual(t, "alg", h["alg"], alg)
			c := mustVerify(t, s, raw)
			now := float64(behaviorEpoch.Unix())
			for k, want := range map[string]any{
				"iss": s.URL, "aud": "rp", "sub": "alice", "sid": "sid-1", "iat": now, "exp": now + 120,
				"events": fmt.Sprint(map[string]any{backchannelEvent: map[string]any{}}),
			} {
				got := c[k]
				if k == "events" {
					got = fmt.Sprint(got)
				}
				wantEqual(t, k, got, want)
			}
			if jti, _ := c["jti"].(string); jti == "" {
				t.Error("no jti")
			}
			if _, ok := c["nonce"]; ok {
				t.Error("nonce present")
			}
		})
	}
}

func TestLogoutTokenSubOrSid(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, tt := range []struct{ sub, sid string }{{"alice", ""}, {"", "sid-1"}} {
		raw, err := s.LogoutToken("rp", tt.sub, tt.sid, "")
		if err != nil {
			t.Fatal(err)
		}
		c := mustVerify(t, s, raw)
		for k, want := range map[string]string{"sub": tt.sub, "sid": tt.sid} {
			if v, ok := c[k]; ok != (want != "") || (ok && v != want) {
				t.Errorf("sub %q sid %q: %s = %v", tt.sub, tt.sid, k, v)
			}
		}
	}
	for _, tt := range []struct {
		sub, sid string
		defect   LogoutTokenDefect
	}{{"", "", ""}, {"alice", "sid", "no-such-defect"}} {
		if _, err := s.LogoutToken("rp", tt.sub, tt.sid, tt.defect); err == nil || !strings.HasPrefix(err.Error(), "oidctest: ") {
			t.Errorf("LogoutToken(%q, %q, %q) error = %v", tt.sub, tt.sid, tt.defect, err)
		}
	}
	if _, err := s.LogoutToken("rp", "", "", LogoutNoSubNoSid); err != nil {
		t.Errorf("LogoutNoSubNoSid without sub and sid: %v", err)
	}
}

// defectCheck says how a defective logout token differs from a valid one
// built at the same instant. Everything not listed must be equal (jti is
// random in both).
type defectCheck struct {
	header []string // header fields that differ
	claims []string // claims that differ
	signed bool     // still verifies against the JWKS
	check  func(t *testing.T, s *Server, raw string, h, c map[string]any)
}

var defectChecks = map[LogoutTokenDefect]defectCheck{
	LogoutAlgNone: {header: []string{"alg", "kid"}, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "alg", h["alg"], "none")
		if !strings.HasSuffix(raw, ".") {
			t.Error("signature not empty")
		}
	}},
	LogoutNoEvent: {claims: []string{"events"}, signed: true},
	LogoutWithNonce: {claims: []string{"nonce"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		if n, _ := c["nonce"].(string); n == "" {
			t.Errorf("nonce = %v", c["nonce"])
		}
	}},
	LogoutWrongAlg: {header: []string{"alg"}, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "alg", h["alg"], "HS256")
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(s.env("").key.publicPEM()); err != nil {
			t.Errorf("not an HMAC with the public key PEM: %v", err)
		}
	}},
	LogoutWrongAud: {claims: []string{"aud"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "aud", c["aud"], "someone-else")
	}},
	LogoutEventNotObj: {claims: []string{"events"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		if ev, _ := c["events"].(map[string]any); ev[backchannelEvent] != "logout" {
			t.Errorf("events = %v", c["events"])
		}
	}},
	LogoutWrongEvent: {claims: []string{"events"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		ev, _ := c["events"].(map[string]any)
		if _, ok := ev[backchannelEvent]; ok || len(ev) != 1 {
			t.Errorf("events = %v", c["events"])
		}
	}},
	LogoutWrongIssuer: {claims: []string{"iss"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "iss", c["iss"], s.URL+"/other")
	}},
	LogoutMissingJTI: {claims: []string{"jti"}, signed: true},
	LogoutMissingIat: {claims: []string{"iat"}, signed: true},
	LogoutMissingExp: {claims: []string{"exp"}, signed: true},
	LogoutOldIat: {claims: []string{"iat"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "iat", c["iat"], float64(behaviorEpoch.Add(-time.Hour).Unix()))
	}},
	LogoutFutureIat: {claims: []string{"iat"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "iat", c["iat"], float64(behaviorEpoch.Add(time.Hour).Unix()))
	}},
	LogoutNoSubNoSid: {claims: []string{"sub", "sid"}, signed: true},
	LogoutWrongTyp: {header: []string{"typ"}, signed: true, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "typ", h["typ"], "JWT")
	}},
	LogoutBadSignature: {check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		wantEqual(t, "kid", h["kid"], fetchJWKS(t, s).Keys[0].KeyID)
	}},
	LogoutUnknownKid: {header: []string{"kid"}, check: func(t *testing.T, s *Server, raw string, h, c map[string]any) {
		set := fetchJWKS(t, s)
		if kid, _ := h["kid"].(string); kid == "" || len(set.Key(kid)) != 0 {
			t.Errorf("kid = %v, want one not in the JWKS", h["kid"])
		}
	}},
}

func TestLogoutTokenDefects(t *testing.T) {
	all := LogoutTokenDefects()
	if !slices.IsSorted(all) || len(all) != len(logoutDefects) || slices.Contains(all, "") {
		t.Fatalf("LogoutTokenDefects() = %v", all)
	}
	s := newTestServer(t, Config{Now: func() time.Time { return behaviorEpoch }})
	valid, err := s.LogoutToken("rp", "alice", "sid-1", "")
	if err != nil {
		t.Fatal(err)
	}
	vh, vc := decodeJWT(t, valid)
	mustVerify(t, s, valid)
	for _, d := range all {
		t.Run(string(d), func(t *testing.T) {
			dc, ok := defectChecks[d]
			if !ok {
				t.Fatal("no check in defectChecks")
			}
			raw, err := s.LogoutToken("rp", "alice", "sid-1", d)
			if err != nil {
				t.Fatal(err)
			}
			h, c := decodeJWT(t, raw)
			wantOnlyChanged(t, "header", vh, h, dc.header)
			wantOnlyChanged(t, "claim", vc, c, append([]string{"jti"}, dc.claims...))
			if _, err := verify(t, s, raw); (err == nil) != dc.signed {
				t.Errorf("verifies against the JWKS: %v, want %v", err == nil, dc.signed)
			}
			if dc.check != nil {
				dc.check(t, s, raw, h, c)
			}
		})
	}
}

// wantOnlyChanged checks that got equals want except for the keys in
// changed, which must differ.
func wantOnlyChanged(t *testing.T, what string, want, got map[string]any, changed []string) {
	t.Helper()
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	for k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		same := wok == gok && fmt.Sprint(w) == fmt.Sprint(g)
		if k == "jti" && slices.Contains(changed, k) && wok && gok {
			continue // random in both
		}
		if same == slices.Contains(changed, k) {
			t.Errorf("%s %s: %v, valid token has %v; changed = %v", what, k, g, w, changed)
		}
	}
}
