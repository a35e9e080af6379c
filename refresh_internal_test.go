package oidcmw

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
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

// TestGoogleIssuerNormalized: Google's ID tokens may name
// "accounts.google.com" without the scheme. Accepted at login, the session
// records the configured issuer, so that the middleware owns it (no login
// loop) and a refresh whose token names either form keeps it.
func TestGoogleIssuerNormalized(t *testing.T) {
	const google = "https://accounts.google.com"
	op := newJWKSOP(t)
	op.setIssuer(google)
	op.setBase(google) // the transport below sends it to op
	k := rsaKeys()[0]
	op.setKeys(t, pub(k, "a"))
	target, _ := url.Parse(op.URL)
	clock := newTestClock()
	m, err := New(Options{Issuer: google, ClientID: testClientID, RedirectURL: "http://127.0.0.1/cb",
		Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		HTTPClient: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			r = r.Clone(r.Context())
			r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
			return http.DefaultTransport.RoundTrip(r)
		})}})
	if err != nil {
		t.Fatal(err)
	}
	token := func(iss string) string {
		now := clock.Now().Unix()
		return signTestJWT(t, jose.RS256, k, "a", fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","iat":%d,"exp":%d}`,
			iss, testClientID, now, now+3600), nil)
	}
	p, err := m.disc.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.verify.idToken(context.Background(), p, token("accounts.google.com"), Checks{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if c.issuer != google || !m.tenant.owns(m.opts.Issuer, c.issuer) {
		t.Fatalf("session issuer %q: not owned", c.issuer)
	}
	old := &sessionRecord{id: Identity{Subject: "alice", Issuer: c.issuer, RefreshToken: "rt", AccessToken: "old",
		Expiry: clock.Now().Add(-time.Minute)}}
	for _, iss := range []string{"accounts.google.com", google} {
		op.setIDToken(token(iss))
		if _, err := m.refresh(context.Background(), old); err != nil {
			t.Errorf("refresh with iss %q: %v", iss, err)
		}
	}
}
