package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcmw/oidcmw/oidctest"
)

// TestProxyInjectJWT: with --inject-jwt the upstream gets a JWT with the
// identity, which verifies with the key set at /oauth2/jwks (served
// without a session) for the issuer (the proxy's origin) and the default
// audience (the --upstream URL); a client's X-Auth-Request-Jwt never gets
// through, and public routes get none. Two replicas given one
// --jwt-key-file serve the same key set.
func TestProxyInjectJWT(t *testing.T) {
	op := oidctest.NewServer(oidctest.Config{User: oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": false, "groups": []any{"a,b", "ops"}}}})
	defer op.Close()
	up := newEcho(t)
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := writeKey(t, k)
	args := []string{"--upstream", up.URL, "--inject-jwt", "--jwt-key-file", keyFile, "--jwt-ttl", "30s", "--public-route", "GET /pub/"}
	a := startProxy(t, opEnv(op), args...)
	b := startProxy(t, opEnv(op), args...)

	_, jwksA := fetch(t, &http.Client{}, http.MethodGet, a.url+"/oauth2/jwks", nil)
	resp, jwksB := fetch(t, &http.Client{}, http.MethodGet, b.url+"/oauth2/jwks", nil)
	if resp.StatusCode != 200 || jwksA != jwksB || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Errorf("key sets of two replicas with one key file: %d %s\n%s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), jwksA, jwksB)
	}

	c := browser()
	signIn(t, c, a, "/")
	hdr := spoofed.Clone()
	hdr["X-Auth-Request-Jwt"] = []string{"spoofed.jwt.value"}
	hdr["X_Auth_Request_Jwt"] = []string{"spoofed.jwt.value2"}
	_, body := fetch(t, c, http.MethodGet, a.url+"/private", hdr)
	got := decodeSeen(t, body)
	raw, ok := got.only(headerJWT)
	if !ok {
		t.Fatalf("%s: %q", headerJWT, got.values(headerJWT))
	}
	ctx := context.Background()
	v := oidc.NewVerifier(a.url, oidc.NewRemoteKeySet(ctx, a.url+"/oauth2/jwks"),
		&oidc.Config{ClientID: up.URL, SupportedSigningAlgs: []string{"ES384"}})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verifying the JWT: %v", err)
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if tok.Subject != "alice" || tok.Expiry.Sub(tok.IssuedAt).Seconds() != 30 {
		t.Errorf("JWT: sub %q, lifetime %v", tok.Subject, tok.Expiry.Sub(tok.IssuedAt))
	}
	if _, ok := claims["email"]; ok {
		t.Errorf("unverified email in the JWT: %v", claims)
	}
	if gs, _ := claims["groups"].([]any); len(gs) != 2 || gs[0] != "a,b" {
		t.Errorf("groups in the JWT: %v", claims["groups"])
	}

	_, body = fetch(t, c, http.MethodGet, a.url+"/pub/x", hdr)
	if vs := decodeSeen(t, body).values(headerJWT); len(vs) > 0 {
		t.Errorf("a public route got %q", vs)
	}
}
