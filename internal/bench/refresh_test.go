package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/internal/storetest"
	"github.com/oidcmw/oidcmw/oidctest"
)

// refreshMargin is oidcmw's default Options.RefreshMargin.
const refreshMargin = time.Minute

// BenchmarkRefresh measures one access token refresh against an oidctest
// provider over loopback HTTP, per signing algorithm. Each run has its own
// provider, on a fake clock it shares with the impl, issuing access tokens
// that live one second longer than the refresh margin.
//
//   - impl=oidcmw: one authenticated request through the guard, in process,
//     for a session whose access token is inside the refresh margin: the
//     clock moves one second before each request, so each one refreshes
//     (lease, refresh_token grant, ID token checks, session rewritten).
//   - impl=handwritten: what Go users write without it:
//     oauth2.Config.TokenSource with an expired token, Token(), and the
//     returned ID token verified by go-oidc with its subject compared.
func BenchmarkRefresh(b *testing.B) {
	for _, alg := range algs {
		b.Run("alg="+alg, func(b *testing.B) {
			b.Run("impl=handwritten", func(b *testing.B) {
				clk, op := newRefreshProvider(b, alg)
				hc := &http.Client{Transport: newTransport(b)}
				ctx := context.WithValue(b.Context(), oauth2.HTTPClient, hc)
				provider, err := oidc.NewProvider(ctx, op.URL)
				if err != nil {
					b.Fatal(err)
				}
				cfg := bareClient(op.URL)
				cfg.Endpoint = provider.Endpoint()
				verifier := provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: clk.Now})
				code, pkce := authorize(b, newBrowser(b, hc.Transport), cfg)
				tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce))
				if err != nil || tok.RefreshToken == "" {
					b.Fatalf("code grant: refresh token %q, err %v", tok.RefreshToken, err)
				}
				first, err := verifier.Verify(ctx, tok.Extra("id_token").(string))
				if err != nil {
					b.Fatal(err)
				}
				refresh := func() {
					expired := &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Unix(1, 0)}
					t, err := cfg.TokenSource(ctx, expired).Token()
					if err != nil {
						b.Fatal(err)
					}
					raw, _ := t.Extra("id_token").(string)
					idt, err := verifier.Verify(ctx, raw)
					if err != nil {
						b.Fatal(err)
					}
					if idt.Subject != first.Subject || idt.Issuer != first.Issuer {
						b.Fatalf("refreshed ID token for %s at %s", idt.Subject, idt.Issuer)
					}
				}
				refresh() // warm up
				b.ReportAllocs()
				for b.Loop() {
					refresh()
				}
			})

			b.Run("impl=oidcmw", func(b *testing.B) {
				clk, op := newRefreshProvider(b, alg)
				app := newOIDCMWApp(b, op.URL, oidcmw.Options{
					Now:   clk.Now,
					Store: oidcmw.NewMemoryStore(clk.Now),
				})
				cookie := signIn(b, app, op.URL)
				var token string // the access token the handler saw last
				h := app.m.Guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					id, _ := oidcmw.FromContext(r.Context())
					token = id.AccessToken
				}))
				req := httptest.NewRequest(http.MethodGet, protectedPath, nil)
				req.Header.Set("Accept", "application/json") // no login redirect
				req.AddCookie(cookie)
				refresh := func() {
					prev := token
					clk.Advance(time.Second)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK || token == prev {
						b.Fatalf("guarded request: status %d, access token refreshed: %v", rec.Code, token != prev)
					}
				}
				refresh() // warm up
				b.ReportAllocs()
				for b.Loop() {
					refresh()
				}
			})
		})
	}
}

// newRefreshProvider serves a provider for BenchmarkRefresh, fresh for each
// run (see BenchmarkLogin), on a fake clock it returns, issuing access
// tokens that live one second longer than the refresh margin.
func newRefreshProvider(b *testing.B, alg string) (*storetest.Clock, *oidctest.Server) {
	clk := storetest.NewClock(time.Now())
	op := oidctest.NewServer(oidctest.Config{
		Alg:                 alg,
		Now:                 clk.Now,
		AccessTokenLifetime: refreshMargin + time.Second,
	})
	b.Cleanup(op.Close)
	return clk, op
}

// BenchmarkOPRefreshOnly measures the provider's share of a refresh: the
// bare refresh_token grant (client_secret_basic) over loopback HTTP, from a
// client that verifies nothing.
func BenchmarkOPRefreshOnly(b *testing.B) {
	for _, alg := range algs {
		b.Run("alg="+alg, func(b *testing.B) {
			op := oidctest.NewServer(oidctest.Config{Alg: alg})
			b.Cleanup(op.Close)
			cfg := bareClient(op.URL)
			tr := newTransport(b)
			code, pkce := authorize(b, newBrowser(b, tr), cfg)
			ctx := context.WithValue(b.Context(), oauth2.HTTPClient, &http.Client{Transport: tr})
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce))
			if err != nil || tok.RefreshToken == "" {
				b.Fatalf("code grant: refresh token %q, err %v", tok.RefreshToken, err)
			}
			form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
			c := &http.Client{Transport: tr}
			postToken(b, c, cfg, form, `"id_token"`) // warm up
			b.ReportAllocs()
			for b.Loop() {
				postToken(b, c, cfg, form, `"id_token"`)
			}
		})
	}
}
