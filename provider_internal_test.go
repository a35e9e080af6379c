package oidcmw

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"slices"
	"sync/atomic"
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
	p, err := m.disc.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, weak := range []jose.SignatureAlgorithm{"none", jose.HS256} {
		if slices.Contains(p.idAlgs, weak) {
			t.Errorf("allow-list %v contains %s", p.idAlgs, weak)
		}
	}
	if !slices.Contains(p.idAlgs, jose.RS256) {
		t.Errorf("allow-list %v lost RS256", p.idAlgs)
	}
}

// TestAuthMethodFromDiscovery: a client with a secret and no explicit
// method uses the first secret method the provider lists.
func TestAuthMethodFromDiscovery(t *testing.T) {
	base := Options{Issuer: "https://op.example", ClientID: "c", ClientSecret: "s", RedirectURL: "https://app.example/cb"}
	cases := []struct {
		explicit  string
		supported []string
		want      string
	}{
		{"", nil, "client_secret_basic"},
		{"", []string{"client_secret_post", "private_key_jwt"}, "client_secret_post"},
		{"", []string{"client_secret_jwt", "client_secret_basic"}, "client_secret_basic"},
		{"", []string{"private_key_jwt", "client_secret_jwt"}, "client_secret_jwt"},
		{"client_secret_post", []string{"client_secret_basic"}, "client_secret_post"},
	}
	for _, tc := range cases {
		o := base
		o.ClientAuthMethod = tc.explicit
		m, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.disc.authMethod(tc.supported); string(got) != tc.want {
			t.Errorf("explicit %q, supported %q: %q, want %q", tc.explicit, tc.supported, got, tc.want)
		}
	}
}

// TestTenantIssuer: under the multi-tenant template, iss must be the
// template with the token's own tid, and tid an allowed tenant.
func TestTenantIssuer(t *testing.T) {
	m, err := New(Options{Issuer: "https://login.example/organizations/v2.0", ClientID: "c",
		RedirectURL: "https://app.example/cb", TenantIssuer: "https://login.example/{tenantid}/v2.0",
		AllowedTenants: []string{"t1", "t2"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		iss, tid string
		ok       bool
	}{
		{"https://login.example/t1/v2.0", "t1", true},
		{"https://login.example/t1/v2.0", "t2", false},     // iss of another tenant than tid
		{"https://login.example/t3/v2.0", "t3", false},     // tenant not allowed
		{"https://login.example/t1/v2.0", "", false},       // no tid
		{"https://login.example/t1/x/v2.0", "t1/x", false}, // tid with a slash
		{"https://evil.example/t1/v2.0", "t1", false},
	} {
		if err := m.tenant.check(tc.iss, tc.tid); (err == nil) != tc.ok {
			t.Errorf("iss %q tid %q: %v", tc.iss, tc.tid, err)
		}
	}
}

// TestNewWithReplacedDefaultTransport: an application that replaced
// http.DefaultTransport (as otelhttp users do) gets a working middleware,
// whose default client goes through that transport.
func TestNewWithReplacedDefaultTransport(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	saved := http.DefaultTransport
	defer func() { http.DefaultTransport = saved }()
	var used atomic.Int32
	http.DefaultTransport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		return saved.RoundTrip(r)
	})
	m, err := New(Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID, RedirectURL: "http://127.0.0.1/cb"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Discover(context.Background()); err != nil {
		t.Fatal(err)
	}
	if used.Load() == 0 {
		t.Fatal("the replaced DefaultTransport was not used")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestClientAuthDefault: a secret, with or without a key, authenticates
// with the secret method discovery lists; a key alone means
// private_key_jwt; a named method always wins.
func TestClientAuthDefault(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	both := []string{"private_key_jwt", "client_secret_basic"}
	for _, tc := range []struct {
		name   string
		secret string
		key    bool
		method string
		want   clientAuth
	}{
		{"secret and key", "s", true, "", authSecretBasic},
		{"secret", "s", false, "", authSecretBasic},
		{"key", "", true, "", authPrivateKeyJWT},
		{"neither", "", false, "", authNone},
		{"named", "s", true, "private_key_jwt", authPrivateKeyJWT},
	} {
		o := Options{Issuer: "https://op.example", ClientID: "c", ClientSecret: tc.secret,
			RedirectURL: "https://app.example/cb", ClientAuthMethod: tc.method}
		if tc.key {
			o.ClientKey = key
		}
		m, err := New(o)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := m.disc.authMethod(both); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
