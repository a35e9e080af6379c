package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestRefreshKeepsIssuerUnderTenantTemplate: under a multi-tenant issuer
// template, a refreshed ID token of another allowed tenant passes every
// check of its own, and still ends the session: iss must not change
// (OIDC Core §12.2).
func TestRefreshKeepsIssuerUnderTenantTemplate(t *testing.T) {
	op := newJWKSOP(t)
	op.setIssuer(op.URL + "/{tenantid}/v2.0")
	k := rsaKeys()[0]
	op.setKeys(t, pub(k, "a"))
	clock := newTestClock()
	m, err := New(Options{Issuer: op.URL + "/organizations/v2.0", TenantIssuer: op.URL + "/{tenantid}/v2.0",
		AllowedTenants: []string{"t1", "t2"}, ClientID: testClientID, RedirectURL: "http://127.0.0.1/cb",
		Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	token := func(tid string) string {
		now := clock.Now().Unix()
		return signTestJWT(t, jose.RS256, k, "a", fmt.Sprintf(`{"iss":%q,"tid":%q,"aud":%q,"sub":"alice","iat":%d,"exp":%d}`,
			op.URL+"/"+tid+"/v2.0", tid, testClientID, now, now+3600), nil)
	}
	old := &sessionRecord{id: Identity{Subject: "alice", Issuer: op.URL + "/t1/v2.0", RefreshToken: "rt",
		AccessToken: "old", Expiry: clock.Now().Add(-time.Minute)}}
	op.setIDToken(token("t1"))
	if _, err := m.refresh(context.Background(), old); err != nil {
		t.Fatalf("refresh in the same tenant: %v", err)
	}
	op.setIDToken(token("t2"))
	if _, err := m.refresh(context.Background(), old); !errors.Is(err, errSessionEnded) {
		t.Fatalf("refresh with another tenant's issuer: %v, want the session ended", err)
	}
}

// TestRefreshKeepsAuthTime: a refreshed ID token with another auth_time
// ends the session (OIDC Core §12.2); the same auth_time, or none, is
// fine.
func TestRefreshKeepsAuthTime(t *testing.T) {
	op := newJWKSOP(t)
	k := rsaKeys()[0]
	op.setKeys(t, pub(k, "a"))
	clock := newTestClock()
	m, err := New(Options{Issuer: op.URL, ClientID: testClientID, RedirectURL: "http://127.0.0.1/cb",
		Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	authTime := clock.Now().Add(-time.Hour).Unix()
	token := func(extra string) string {
		now := clock.Now().Unix()
		return signTestJWT(t, jose.RS256, k, "a", fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","iat":%d,"exp":%d%s}`,
			op.URL, testClientID, now, now+3600, extra), nil)
	}
	old := &sessionRecord{id: Identity{Subject: "alice", Issuer: op.URL, RefreshToken: "rt", AccessToken: "old",
		AuthTime: time.Unix(authTime, 0), Expiry: clock.Now().Add(-time.Minute)}}
	for _, tc := range []struct {
		name, extra string
		ends        bool
	}{
		{"same auth_time", fmt.Sprintf(`,"auth_time":%d`, authTime), false},
		{"no auth_time", "", false},
		{"another auth_time", fmt.Sprintf(`,"auth_time":%d`, authTime+60), true},
	} {
		op.setIDToken(token(tc.extra))
		_, err := m.refresh(context.Background(), old)
		if ends := errors.Is(err, errSessionEnded); ends != tc.ends || (!tc.ends && err != nil) {
			t.Errorf("%s: %v, want the session ended: %v", tc.name, err, tc.ends)
		}
	}
}
