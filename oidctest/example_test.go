package oidctest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/oidcmw/oidcmw/oidctest"
	"golang.org/x/oauth2"
)

// Example runs the authorization code flow by hand against the test
// provider, with golang.org/x/oauth2 as the client.
func Example() {
	op := oidctest.NewServer(oidctest.Config{})
	defer op.Close()

	conf := &oauth2.Config{
		ClientID:     oidctest.DefaultClientID,
		ClientSecret: oidctest.DefaultClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: op.URL + "/authorize", TokenURL: op.URL + "/token"},
		RedirectURL:  "http://app.example/callback",
		Scopes:       []string{"openid", "email"},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("some-state", oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("nonce", "some-nonce"))

	// The provider approves the user at once and redirects to the app.
	client := *op.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Get(authURL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println("state:", loc.Query().Get("state"))
	fmt.Println("iss matches:", loc.Query().Get("iss") == op.Issuer())

	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, op.Client())
	tok, err := conf.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		panic(err)
	}
	fmt.Println("token type:", tok.TokenType)
	fmt.Println("has id_token:", tok.Extra("id_token") != nil)
	fmt.Println("token requests:", op.Count("/token"))

	// Output:
	// state: some-state
	// iss matches: true
	// token type: Bearer
	// has id_token: true
	// token requests: 1
}

// Example_severalProviders runs two providers side by side, as a test of
// a relying party that trusts both would. DistinctKeys gives each its own
// signing key, so that a token of one never verifies with the other's
// JWKS; their issuers differ anyway (each has its own port).
func Example_severalProviders() {
	corp := oidctest.NewServer(oidctest.Config{DistinctKeys: true})
	defer corp.Close()
	social := oidctest.NewServer(oidctest.Config{DistinctKeys: true})
	defer social.Close()

	fmt.Println("issuers differ:", corp.Issuer() != social.Issuer())
	jwks := func(op *oidctest.Server) string {
		resp, err := op.Client().Get(op.URL + "/jwks")
		if err != nil {
			panic(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []struct{ Kid string } }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			panic(err)
		}
		return set.Keys[0].Kid
	}
	fmt.Println("keys differ:", jwks(corp) != jwks(social))

	// Output:
	// issuers differ: true
	// keys differ: true
}
