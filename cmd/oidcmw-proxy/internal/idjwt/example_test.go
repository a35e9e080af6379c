package idjwt_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/idjwt"
)

func ExampleNewSigner() {
	// The proxy: a Signer with a fresh key, its key set served over HTTP.
	s, err := idjwt.NewSigner("https://proxy.example.com", "upstream", time.Minute, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	jwks := httptest.NewServer(s.JWKS())
	defer jwks.Close()

	tok, err := s.Sign("alice", "alice@example.com", []string{"admins"}, time.Now())
	if err != nil {
		fmt.Println(err)
		return
	}
	req, _ := http.NewRequest(http.MethodGet, "http://upstream.internal/", nil)
	req.Header.Set(idjwt.Header, tok)

	// The upstream: verify the header against the key set.
	ctx := context.Background()
	v := oidc.NewVerifier("https://proxy.example.com", oidc.NewRemoteKeySet(ctx, jwks.URL), &oidc.Config{
		ClientID:             "upstream",
		SupportedSigningAlgs: []string{s.Algorithm()},
	})
	id, err := v.Verify(ctx, req.Header.Get(idjwt.Header))
	if err != nil {
		fmt.Println(err)
		return
	}
	var claims struct {
		Email  string   `json:"email"`
		Groups []string `json:"groups"`
	}
	if err := id.Claims(&claims); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Algorithm(), id.Subject, claims.Email, claims.Groups)
	// Output: ES256 alice alice@example.com [admins]
}
