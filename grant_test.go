package oidcmw_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// customLogin starts a login by hand (a custom flow) and returns the
// callback request the provider redirected to, with the checks to use.
func customLogin(t *testing.T, h *harness) (*http.Request, oidcmw.Checks) {
	t.Helper()
	checks := oidcmw.Checks{State: "custom-state-0123456789", Nonce: "custom-nonce-0123456789",
		CodeVerifier: oauth2.GenerateVerifier(), IDTokenExpected: true}
	cfg := oauth2.Config{ClientID: oidctest.DefaultClientID, RedirectURL: h.opts.RedirectURL,
		Scopes: []string{"openid"}, Endpoint: oauth2.Endpoint{AuthURL: h.op.URL + "/authorize"}}
	authURL := cfg.AuthCodeURL(checks.State, oauth2.S256ChallengeOption(checks.CodeVerifier),
		oauth2.SetAuthURLParam("nonce", checks.Nonce))
	cb := h.authorize(h.browser, authURL)
	return httptest.NewRequest(http.MethodGet, cb, nil), checks
}

func TestAuthorizationCodeGrant(t *testing.T) {
	h := newHarness(t, setup{})
	r, checks := customLogin(t, h)
	tokens, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, url.Values{"resource": {"https://api.example"}})
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Sub   string `json:"sub"`
		Nonce string `json:"nonce"`
	}
	if err := tokens.Claims(&c); err != nil || c.Sub != "alice" || c.Nonce != checks.Nonce {
		t.Errorf("claims %+v %v", c, err)
	}
	if tokens.AccessToken == "" || tokens.RefreshToken == "" || tokens.IDToken == "" || tokens.ExpiresIn() != time.Hour {
		t.Errorf("tokens %+v, expires in %v", tokens, tokens.ExpiresIn())
	}
	h.clock.Advance(2 * time.Hour)
	if tokens.ExpiresIn() != 0 {
		t.Errorf("expired token: ExpiresIn %v", tokens.ExpiresIn())
	}
	for _, r := range h.op.Requests() {
		if r.Path == "/token" && r.Form.Get("resource") != "https://api.example" {
			t.Errorf("token endpoint parameters not sent: %v", r.Form)
		}
	}
}

func TestAuthorizationCodeGrantChecks(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*oidcmw.Checks)
		err    error
	}{
		{"other state expected", func(c *oidcmw.Checks) { c.State = "another-state-0123456789" }, oidcmw.ErrStateMismatch},
		{"other nonce expected", func(c *oidcmw.Checks) { c.Nonce = "another-nonce" }, oidcmw.ErrInvalidIDToken},
		{"no nonce expected", func(c *oidcmw.Checks) { c.Nonce = "" }, oidcmw.ErrInvalidIDToken},
		{"wrong PKCE verifier", func(c *oidcmw.Checks) { c.CodeVerifier = oauth2.GenerateVerifier() }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{})
			r, checks := customLogin(t, h)
			tc.mutate(&checks)
			_, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil)
			var pe *oidcmw.ProviderError
			switch {
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("err %v, want %v", err, tc.err)
			case tc.err == nil && (!errors.As(err, &pe) || pe.Code != "invalid_grant" || oidcmw.StatusCode(err) != 400):
				t.Errorf("err %v, want invalid_grant from the token endpoint", err)
			}
			if errors.Is(err, oidcmw.ErrStateMismatch) && h.op.Count("/token") != 0 {
				t.Error("code redeemed although state did not match")
			}
		})
	}
}

func TestCallbackParameterLimit(t *testing.T) {
	h := newHarness(t, setup{})
	cb := h.authorize(h.browser, h.startLogin(h.browser, "/"))
	resp, _ := h.callback(h.browser, withParam(t, cb, "code", strings.Repeat("c", 10<<10)))
	if resp.StatusCode != 400 || !errors.Is(h.lastErr(), oidcmw.ErrInvalidCallback) || h.op.Count("/token") != 0 {
		t.Errorf("10 KiB code: %d %v", resp.StatusCode, h.lastErr())
	}
}
