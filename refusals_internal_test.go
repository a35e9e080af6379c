package oidcmw

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcmw/oidcmw/oidctest"
)

// TestDiscoveryRefusesHTTPEndpointsOfHTTPSIssuer: an https issuer whose
// discovery names an http endpoint would send codes, tokens or client
// credentials in clear text: discovery fails.
func TestDiscoveryRefusesHTTPEndpointsOfHTTPSIssuer(t *testing.T) {
	base := discoveryDoc{Issuer: "https://op.example", AuthorizationURL: "https://op.example/authorize",
		TokenURL: "https://op.example/token", JWKSURL: "https://op.example/jwks"}
	if err := base.checkEndpoints(); err != nil {
		t.Fatalf("all https: %v", err)
	}
	for name, set := range map[string]func(*discoveryDoc){
		"token_endpoint":        func(d *discoveryDoc) { d.TokenURL = "http://op.example/token" },
		"jwks_uri":              func(d *discoveryDoc) { d.JWKSURL = "http://op.example/jwks" },
		"authorization":         func(d *discoveryDoc) { d.AuthorizationURL = "http://op.example/authorize" },
		"userinfo_endpoint":     func(d *discoveryDoc) { d.UserinfoURL = "http://op.example/userinfo" },
		"revocation_endpoint":   func(d *discoveryDoc) { d.RevocationURL = "http://op.example/revoke" },
		"PAR endpoint":          func(d *discoveryDoc) { d.PARURL = "http://op.example/par" },
		"end_session_endpoint":  func(d *discoveryDoc) { d.EndSessionURL = "http://op.example/logout" },
		"a relative token path": func(d *discoveryDoc) { d.TokenURL = "/token" },
	} {
		doc := base
		set(&doc)
		if err := doc.checkEndpoints(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An http issuer (loopback, or InsecureAllowHTTP) may have http endpoints.
	plain := discoveryDoc{Issuer: "http://127.0.0.1:8080", AuthorizationURL: "http://127.0.0.1:8080/a",
		TokenURL: "http://127.0.0.1:8080/t", JWKSURL: "http://127.0.0.1:8080/j"}
	if err := plain.checkEndpoints(); err != nil {
		t.Errorf("http issuer: %v", err)
	}
}

// TestIDTokenAuthTimeInTheFuture: an auth_time beyond the clock skew is
// refused, whether or not max_age was asked.
func TestIDTokenAuthTimeInTheFuture(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k := rsaKeys()[0]
	e.op.setKeys(t, pub(k, "a"))
	now := e.clock.Now().Unix()
	claims := func(authTime int64) string {
		return fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","iat":%d,"exp":%d,"nonce":"n","auth_time":%d}`,
			e.op.URL, testClientID, now, now+3600, authTime)
	}
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", claims(now+10), nil)); err != nil {
		t.Fatalf("auth_time within the skew: %v", err)
	}
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", claims(now+3600), nil)); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("auth_time an hour ahead: %v, want ErrInvalidIDToken", err)
	}
}

// TestBindingKeyHashed: the login cookie's value never appears in a store
// key; a store dump holds no cookie.
func TestBindingKeyHashed(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()
	store := NewMemoryStore(nil)
	m, err := New(Options{Issuer: op.URL, ClientID: oidctest.DefaultClientID, ClientSecret: oidctest.DefaultClientSecret,
		RedirectURL: "http://127.0.0.1/cb", Store: store})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	m.Login(w, httptest.NewRequest(http.MethodGet, "/auth/login", nil))
	var binding string
	for _, c := range w.Result().Cookies() {
		if strings.HasPrefix(c.Name, "oidcmw_login") {
			binding = c.Value
		}
	}
	if binding == "" {
		t.Fatalf("no login cookie (%d)", w.Code)
	}
	store.mu.RLock()
	defer store.mu.RUnlock()
	for key := range store.items {
		if strings.Contains(key, binding) {
			t.Errorf("store key %q holds the login cookie's value", key)
		}
	}
	if _, ok := store.items[bindingKey(binding)]; !ok {
		t.Error("the browser's pending states are not under bindingKey")
	}
}
