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

func TestRequestObject(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	signers := map[string]signer{"hs256": hs256(jwtSecret)}
	s.AddClient(Client{ID: "hs256", Secret: jwtSecret})
	for _, alg := range asymmetricAlgs {
		k := testClientKey(t, alg, 0)
		id := "jar-" + strings.ToLower(string(alg))
		s.AddClient(Client{ID: id, Secret: jwtSecret, JWKS: k.jwks()})
		signers[id] = k.sign
	}
	for id, sign := range signers {
		t.Run(id, func(t *testing.T) {
			f := newFlowFor(s, id)
			f.auth = basicAuth(id, jwtSecret)
			c := f.requestObjectClaims(clk.Now())
			c["max_age"] = 3600 // a number, as JSON has it
			c["resource"] = []string{"https://api.example/a", "https://api.example/b"}
			// The parameters outside the object are ignored.
			q := url.Values{"client_id": {id}, "request": {sign(t, c)}, "state": {"outer"}, "scope": {"profile"}}
			p := authorizeRedirect(t, s, q)
			wantEqual(t, "state", p.Get("state"), f.state)
			status, _, tokens := f.redeem(t, p.Get("code"))
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, tokens)
			}
			wantEqual(t, "nonce", mustVerify(t, s, tokens["id_token"].(string))["nonce"], f.nonce)
			s.mu.Lock()
			at := s.access[tokens["access_token"].(string)]
			s.mu.Unlock()
			if !slices.Equal(at.resources, []string{"https://api.example/a", "https://api.example/b"}) {
				t.Errorf("resources = %v", at.resources)
			}

			// Pushed, too.
			f = newFlowFor(s, id)
			f.auth = basicAuth(id, jwtSecret)
			status, _, body := postJSON(t, s, "/par", url.Values{"request": {sign(t, f.requestObjectClaims(clk.Now()))}}, f.auth)
			if status != http.StatusCreated {
				t.Fatalf("par: %d %v", status, body)
			}
			p = authorizeRedirect(t, s, byReference(id, body["request_uri"].(string)))
			wantEqual(t, "pushed state", p.Get("state"), f.state)
			if status, _, body := f.redeem(t, p.Get("code")); status != http.StatusOK {
				t.Errorf("token: %d %v", status, body)
			}
		})
	}
	_, doc := getJSON(t, s, discoveryPath, nil)
	wantEqual(t, "request_parameter_supported", doc["request_parameter_supported"], true)
	wantEqual(t, "require_signed_request_object", doc["require_signed_request_object"], false)
}

func TestRequestObjectRefused(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	k := testClientKey(t, jose.ES256, 0)
	other := testClientKey(t, jose.ES256, 1)
	s.AddClient(Client{ID: "jar", JWKS: k.jwks()})
	s.AddClient(Client{ID: "short", Secret: "short-secret"})
	now := clk.Now()
	tests := []struct {
		name     string
		clientID string
		object   func(t *testing.T, c map[string]any) string
	}{
		{name: "signed by another key", object: other.sign},
		{name: "alg none", object: unsigned},
		{name: "HS256 without a secret", object: hs256(jwtSecret)},
		{name: "HS256 with another secret", clientID: "short", object: hs256(jwtSecret)},
		{name: "iss another client", object: editObject(k, func(c map[string]any) { c["iss"] = "short" })},
		{name: "client_id another client", object: editObject(k, func(c map[string]any) { c["client_id"] = "short" })},
		{name: "no client_id", object: editObject(k, func(c map[string]any) { delete(c, "client_id") })},
		{name: "aud not the issuer", object: editObject(k, func(c map[string]any) { c["aud"] = s.URL + "/authorize" })},
		{name: "expired", object: editObject(k, func(c map[string]any) { c["exp"] = now.Add(-time.Second).Unix() })},
		{name: "no exp", object: editObject(k, func(c map[string]any) { delete(c, "exp") })},
		{name: "nbf in the future", object: editObject(k, func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := tt.clientID
			if id == "" {
				id = "jar"
			}
			f := newFlowFor(s, id)
			raw := tt.object(t, f.requestObjectClaims(now))
			// With a usable redirect_uri outside the object: an error redirect.
			q := url.Values{"client_id": {id}, "request": {raw}, "redirect_uri": {testRedirect}, "state": {"outer"}}
			p := authorizeRedirect(t, s, q)
			wantEqual(t, "error", p.Get("error"), "invalid_request_object")
			wantEqual(t, "state", p.Get("state"), "outer")
			// Without: a page.
			resp, _ := authorizeQuery(t, s, url.Values{"client_id": {id}, "request": {raw}})
			wantPage(t, resp)
		})
	}
}

// editObject signs f's request object with k after edit.
func editObject(k *clientKey, edit func(map[string]any)) func(*testing.T, map[string]any) string {
	return func(t *testing.T, c map[string]any) string {
		edit(c)
		return k.sign(t, c)
	}
}

func TestRequireSignedRequestObject(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now, RequireSignedRequestObject: true})
	k := testClientKey(t, jose.EdDSA, 0)
	s.AddClient(Client{ID: "jar", Secret: "x", JWKS: k.jwks()})
	_, doc := getJSON(t, s, discoveryPath, nil)
	wantEqual(t, "require_signed_request_object", doc["require_signed_request_object"], true)

	f := newFlowFor(s, "jar")
	p := f.authorize(t)
	wantEqual(t, "plain request: error", p.Get("error"), "invalid_request")
	status, _, body := postJSON(t, s, "/par", f.params(), basicAuth("jar", "x"))
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_request")

	f.auth = basicAuth("jar", "x")
	q := url.Values{"client_id": {"jar"}, "request": {k.sign(t, f.requestObjectClaims(clk.Now()))}}
	p = authorizeRedirect(t, s, q)
	if status, _, body := f.redeem(t, p.Get("code")); status != http.StatusOK {
		t.Errorf("token: %d %v", status, body)
	}
	// A pushed request object satisfies it too.
	f = newFlowFor(s, "jar")
	status, _, body = postJSON(t, s, "/par", url.Values{"request": {k.sign(t, f.requestObjectClaims(clk.Now()))}}, basicAuth("jar", "x"))
	if status != http.StatusCreated {
		t.Fatalf("par: %d %v", status, body)
	}
	p = authorizeRedirect(t, s, byReference("jar", body["request_uri"].(string)))
	if p.Get("code") == "" {
		t.Errorf("pushed request object: %v", p)
	}
}
