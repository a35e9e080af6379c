package oidcmw

import (
	"context"
	"slices"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcmw/oidcmw/oidctest"
)

// TestDiscoveryKeepsOnlyAsymmetricAlgs: whatever the provider advertises,
// "none" and HMAC never reach the allow-list.
func TestDiscoveryKeepsOnlyAsymmetricAlgs(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	op.Misbehave(oidctest.AdvertiseWeakAlgs)
	m, err := New(Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.provider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, weak := range []jose.SignatureAlgorithm{"none", jose.HS256} {
		if slices.Contains(p.keys.algs, weak) {
			t.Errorf("allow-list %v contains %s", p.keys.algs, weak)
		}
	}
	if !slices.Contains(p.keys.algs, jose.RS256) {
		t.Errorf("allow-list %v lost RS256", p.keys.algs)
	}
}
