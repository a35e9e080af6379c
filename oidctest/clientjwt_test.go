package oidctest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jwtSecret is a client secret long enough for HS256.
const jwtSecret = "a-client-secret-of-at-least-32-bytes"

// assertionClients registers a private_key_jwt client per key type and a
// client_secret_jwt client, and returns their signers by client id.
func assertionClients(t *testing.T, s *Server) map[string]signer {
	t.Helper()
	out := map[string]signer{}
	for _, alg := range asymmetricAlgs {
		k := testClientKey(t, alg, 0)
		id := "pkjwt-" + strings.ToLower(string(alg))
		s.AddClient(Client{ID: id, AuthMethod: "private_key_jwt", JWKS: k.jwks()})
		out[id] = k.sign
	}
	s.AddClient(Client{ID: "csjwt", Secret: jwtSecret, AuthMethod: "client_secret_jwt"})
	out["csjwt"] = hs256(jwtSecret)
	return out
}

func TestClientAssertion(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	for id, sign := range assertionClients(t, s) {
		t.Run(id, func(t *testing.T) {
			f := newFlow(s)
			f.clientID = id
			code := f.code(t)
			// aud may be the issuer or the token endpoint (RFC 7523 §3).
			c := assertionClaims(s, id, clk.Now())
			c["aud"] = []string{"https://elsewhere.example", s.URL + "/token"}
			status, _, body := postJSON(t, s, "/token", withAssertion(f.codeForm(code), sign(t, c)), nil)
			if status != http.StatusOK || body["id_token"] == nil {
				t.Fatalf("token: %d %v", status, body)
			}
			wantEqual(t, "aud", mustVerify(t, s, body["id_token"].(string))["aud"], id)

			// The refresh grant and the revocation endpoint take assertions too.
			rt := body["refresh_token"].(string)
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
			status, _, refreshed := postJSON(t, s, "/token", withAssertion(form, sign(t, assertionClaims(s, id, clk.Now()))), nil)
			wantEqual(t, "refresh status", status, http.StatusOK)
			resp, _ := post(t, s, "/revoke", withAssertion(url.Values{"token": {rt}, "client_id": {id}},
				sign(t, assertionClaims(s, id, clk.Now()))), nil)
			wantEqual(t, "revoke status", resp.StatusCode, http.StatusOK)
			if !s.Revoked(rt) || refreshed["access_token"] == nil {
				t.Error("refresh token not revoked")
			}
			// The PAR endpoint too, with the assertion's aud the PAR endpoint.
			c = assertionClaims(s, id, clk.Now())
			c["aud"] = s.URL + "/par"
			status, _, pushed := postJSON(t, s, "/par", withAssertion(newFlowFor(s, id).params(), sign(t, c)), nil)
			if status != http.StatusCreated || pushed["request_uri"] == nil {
				t.Errorf("par: %d %v", status, pushed)
			}
		})
	}
}

func newFlowFor(s *Server, clientID string) *flow {
	f := newFlow(s)
	f.clientID = clientID
	return f
}

func TestClientAssertionRefused(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	pk := testClientKey(t, jose.ES256, 0)
	other := testClientKey(t, jose.ES256, 1)
	s.AddClient(Client{ID: "pk", AuthMethod: "private_key_jwt", JWKS: pk.jwks()})
	s.AddClient(Client{ID: "cs", Secret: jwtSecret, AuthMethod: "client_secret_jwt"})
	s.AddClient(Client{ID: "basic", Secret: jwtSecret})
	now := clk.Now()
	replayed := pk.sign(t, assertionClaims(s, "pk", now))
	tests := []struct {
		name string
		form func(t *testing.T, form url.Values) url.Values
		auth func(*http.Request)
	}{
		{name: "wrong assertion type", form: func(t *testing.T, f url.Values) url.Values {
			withAssertion(f, pk.sign(t, assertionClaims(s, "pk", now)))
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return f
		}},
		{name: "no assertion type", form: func(t *testing.T, f url.Values) url.Values {
			f.Set("client_assertion", pk.sign(t, assertionClaims(s, "pk", now)))
			return f
		}},
		{name: "signed by another key", form: edited(other.sign, "pk", s, now, nil)},
		{name: "unknown kid", form: func(t *testing.T, f url.Values) url.Values {
			return withAssertion(f, sign(t, other.alg, other.priv,
				(&jose.SignerOptions{}).WithHeader("kid", "nope"), assertionClaims(s, "pk", now)))
		}},
		{name: "alg none", form: func(t *testing.T, f url.Values) url.Values {
			return withAssertion(f, unsigned(t, assertionClaims(s, "pk", now)))
		}},
		{name: "iss not the client", form: edited(pk.sign, "pk", s, now, func(c map[string]any) { c["iss"] = "cs" })},
		{name: "sub not the client", form: edited(pk.sign, "pk", s, now, func(c map[string]any) { c["sub"] = "alice" })},
		{name: "aud someone else", form: edited(pk.sign, "pk", s, now, func(c map[string]any) { c["aud"] = "https://rp.example" })},
		{name: "aud the userinfo endpoint", form: edited(pk.sign, "pk", s, now, func(c map[string]any) { c["aud"] = s.URL + "/userinfo" })},
		{name: "expired", form: edited(pk.sign, "pk", s, now, func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-2*time.Minute).Unix(), now.Unix()
		})},
		{name: "no exp", form: edited(pk.sign, "pk", s, now, func(c map[string]any) { delete(c, "exp") })},
		{name: "lifetime 10 minutes", form: edited(pk.sign, "pk", s, now, func(c map[string]any) {
			c["exp"] = now.Add(10 * time.Minute).Unix()
		})},
		{name: "lifetime 10 minutes without iat", form: edited(pk.sign, "pk", s, now, func(c map[string]any) {
			delete(c, "iat")
			c["exp"] = now.Add(10 * time.Minute).Unix()
		})},
		{name: "iat in the future", form: edited(pk.sign, "pk", s, now, func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(time.Hour).Unix(), now.Add(time.Hour+time.Minute).Unix()
		})},
		{name: "no jti", form: edited(pk.sign, "pk", s, now, func(c map[string]any) { delete(c, "jti") })},
		{name: "replayed jti", form: func(t *testing.T, f url.Values) url.Values { return withAssertion(f, replayed) }},
		{name: "HS256 for a private_key_jwt client", form: edited(hs256(jwtSecret), "pk", s, now, nil)},
		{name: "key for a client_secret_jwt client", form: edited(pk.sign, "cs", s, now, nil)},
		{name: "wrong secret", form: edited(hs256(jwtSecret+"x"), "cs", s, now, nil)},
		{name: "assertion for a client_secret_basic client", form: edited(hs256(jwtSecret), "basic", s, now, nil)},
		{name: "client_id not the iss", form: func(t *testing.T, f url.Values) url.Values {
			f.Set("client_id", "cs")
			return withAssertion(f, pk.sign(t, assertionClaims(s, "pk", now)))
		}},
		{name: "assertion and basic", form: func(t *testing.T, f url.Values) url.Values {
			return withAssertion(f, pk.sign(t, assertionClaims(s, "pk", now)))
		}, auth: basicAuth("pk", "x")},
		{name: "assertion and client_secret", form: func(t *testing.T, f url.Values) url.Values {
			f.Set("client_secret", "x")
			return withAssertion(f, pk.sign(t, assertionClaims(s, "pk", now)))
		}},
		{name: "private_key_jwt client without assertion", form: func(t *testing.T, f url.Values) url.Values {
			f.Set("client_id", "pk")
			return f
		}},
	}
	// The first use of the replayed assertion succeeds.
	f := newFlowFor(s, "pk")
	if status, _, body := postJSON(t, s, "/token", withAssertion(f.codeForm(f.code(t)), replayed), nil); status != http.StatusOK {
		t.Fatalf("first use: %d %v", status, body)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/token", "/revoke", "/par"} {
				f := newFlowFor(s, "pk")
				form := url.Values{"token": {"x"}}
				if path == "/token" {
					form = f.codeForm(f.code(t))
				}
				if path == "/par" {
					form = f.params()
					form.Del("client_id")
				}
				status, h, body := postJSON(t, s, path, tt.form(t, form), tt.auth)
				wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
				if h.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: no WWW-Authenticate", path)
				}
			}
		})
	}
}

// edited returns a form edit that adds an assertion for clientID signed
// by sign, its claims changed by edit (may be nil).
func edited(sign signer, clientID string, s *Server, now time.Time, edit func(map[string]any)) func(*testing.T, url.Values) url.Values {
	return func(t *testing.T, f url.Values) url.Values {
		c := assertionClaims(s, clientID, now)
		if edit != nil {
			edit(c)
		}
		return withAssertion(f, sign(t, c))
	}
}

// unsigned returns claims as an alg "none" JWT.
func unsigned(t *testing.T, claims map[string]any) string {
	t.Helper()
	raw, err := signJWT(jwsSpec{alg: "none"}, claims)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestClientAssertionDiscovery(t *testing.T) {
	s := newTestServer(t, Config{})
	_, doc := getJSON(t, s, discoveryPath, nil)
	if got := strs(doc["token_endpoint_auth_methods_supported"]); slices.Contains(got, "private_key_jwt") {
		t.Errorf("without such a client: %v", got)
	}
	for _, k := range []string{"token_endpoint_auth_signing_alg_values_supported", "request_object_signing_alg_values_supported"} {
		if got := strs(doc[k]); !slices.Equal(got, []string{"RS256", "PS256", "ES256", "EdDSA", "HS256"}) {
			t.Errorf("%s = %v", k, got)
		}
	}
	s.AddClient(Client{ID: "pk", AuthMethod: "private_key_jwt", JWKS: testClientKey(t, jose.ES256, 0).jwks()})
	_, doc = getJSON(t, s, discoveryPath, nil)
	for _, k := range []string{"token_endpoint_auth_methods_supported", "revocation_endpoint_auth_methods_supported"} {
		want := []string{"client_secret_basic", "client_secret_post", "none", "private_key_jwt"}
		if got := strs(doc[k]); !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	s.AddClient(Client{ID: "cs", Secret: jwtSecret, AuthMethod: "client_secret_jwt"})
	_, doc = getJSON(t, s, discoveryPath, nil)
	if got := strs(doc["token_endpoint_auth_methods_supported"]); !slices.Contains(got, "client_secret_jwt") {
		t.Errorf("token_endpoint_auth_methods_supported = %v", got)
	}
}

func TestAddClientRefusesWhatItCannotServe(t *testing.T) {
	rsaKey := testClientKey(t, jose.RS256, 0).public()
	tests := []struct {
		name string
		c    Client
	}{
		{"client_secret_jwt with a short secret", Client{ID: "c", Secret: "short", AuthMethod: "client_secret_jwt"}},
		{"private_key_jwt without keys", Client{ID: "c", AuthMethod: "private_key_jwt"}},
		{"symmetric key in JWKS", Client{ID: "c", AuthMethod: "private_key_jwt",
			JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: []byte(jwtSecret)}}}}},
		{"encryption without key", Client{ID: "c", IDTokenEncryption: &Encryption{Alg: "RSA-OAEP", Enc: "A128GCM"}}},
		{"encryption with RSA1_5", Client{ID: "c", IDTokenEncryption: &Encryption{Alg: "RSA1_5", Enc: "A128GCM", Key: &rsaKey}}},
		{"encryption with an unknown enc", Client{ID: "c", IDTokenEncryption: &Encryption{Alg: "RSA-OAEP", Enc: "A128", Key: &rsaKey}}},
		{"ECDH-ES with an RSA key", Client{ID: "c", IDTokenEncryption: &Encryption{Alg: "ECDH-ES", Enc: "A128GCM", Key: &rsaKey}}},
	}
	s := newTestServer(t, Config{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("AddClient did not panic")
				}
			}()
			s.AddClient(tt.c)
		})
	}
	// A private JWK is reduced to its public part.
	k := testClientKey(t, jose.ES256, 0)
	s.AddClient(Client{ID: "priv", AuthMethod: "private_key_jwt",
		JWKS: &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.priv, KeyID: k.kid}}}})
	s.mu.Lock()
	pub := s.clients["priv"].JWKS.Keys[0]
	s.mu.Unlock()
	if !pub.IsPublic() {
		t.Error("the registered JWKS holds a private key")
	}
}
