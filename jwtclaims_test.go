package oidcmw

import (
	"testing"
	"time"
)

// TestGoogleIssuerWithoutScheme: Google documents ID tokens whose iss is
// "accounts.google.com" for the issuer https://accounts.google.com; that
// one form is accepted for that one issuer, and nothing else like it.
func TestGoogleIssuerWithoutScheme(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	m, err := New(Options{Issuer: "https://accounts.google.com", ClientID: "c", ClientSecret: "s",
		RedirectURL: "http://127.0.0.1/cb", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	exp := numericDate(now.Add(time.Hour).Unix())
	check := func(issuer, iss string) error {
		return m.verify.issuerAudienceExpiry(&provider{issuer: issuer},
			&jwtClaims{Issuer: iss, Audience: audience{"c"}, Expiry: &exp})
	}
	for _, iss := range []string{"https://accounts.google.com", "accounts.google.com"} {
		if err := check("https://accounts.google.com", iss); err != nil {
			t.Errorf("Google issuer, iss %q: %v", iss, err)
		}
	}
	for _, tc := range [][2]string{
		{"https://accounts.google.com", "accounts.google.com.evil.example"},
		{"https://accounts.google.com", "http://accounts.google.com"},
		{"https://op.example", "op.example"},
	} {
		if err := check(tc[0], tc[1]); err == nil {
			t.Errorf("issuer %q accepted iss %q", tc[0], tc[1])
		}
	}
}
