package oidcmw_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// The contract of AuthorizationCodeGrant, point by point against
// openid-client's authorizationCodeGrant.

// TestGrantChecksRequired: Checks without State or CodeVerifier, or with
// a DPoP key the grant cannot sign with, are the caller's mistake: an
// error that matches ErrInvalidChecks (500), and nothing is redeemed.
func TestGrantChecksRequired(t *testing.T) {
	weakRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*oidcmw.Checks){
		"no state":            func(c *oidcmw.Checks) { c.State = "" },
		"no code verifier":    func(c *oidcmw.Checks) { c.CodeVerifier = "" },
		"RSA key of 1024 bit": func(c *oidcmw.Checks) { c.DPoPKey = weakRSA },
		"a signer of unknown type": func(c *oidcmw.Checks) {
			c.DPoPKey = opaqueSigner{}
		},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, setup{})
			r, checks := customLogin(t, h)
			mutate(&checks)
			_, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil)
			if !errors.Is(err, oidcmw.ErrInvalidChecks) || oidcmw.StatusCode(err) != http.StatusInternalServerError {
				t.Fatalf("%v (status %d), want ErrInvalidChecks and 500", err, oidcmw.StatusCode(err))
			}
			if n := h.op.Count("/token"); n != 0 {
				t.Errorf("%d token requests", n)
			}
		})
	}
}

type opaqueSigner struct{}

func (opaqueSigner) Public() crypto.PublicKey { return nil }
func (opaqueSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("no")
}

// TestGrantTokenParamsCannotOverride: the protocol's own parameters are
// set over the caller's tokenParams; none is sent twice or replaced.
func TestGrantTokenParamsCannotOverride(t *testing.T) {
	h := newHarness(t, setup{})
	r, checks := customLogin(t, h)
	code := r.URL.Query().Get("code")
	params := url.Values{
		"grant_type":    {"password"},
		"code":          {"attacker-code"},
		"redirect_uri":  {"https://evil.example/cb"},
		"code_verifier": {"another-verifier"},
		"client_id":     {"another-client"},
		"client_secret": {"guess"},
		"resource":      {"https://api.example"},
	}
	if _, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, params); err != nil {
		t.Fatal(err)
	}
	for _, req := range h.op.Requests() {
		if req.Path != "/token" {
			continue
		}
		for k, want := range map[string]string{"grant_type": "authorization_code", "code": code,
			"redirect_uri": h.opts.RedirectURL, "code_verifier": checks.CodeVerifier, "resource": "https://api.example"} {
			if got := req.Form[k]; len(got) != 1 || got[0] != want {
				t.Errorf("%s = %q, want only %q", k, got, want)
			}
		}
		for _, k := range []string{"client_id", "client_secret"} { // client_secret_basic: in the header
			if req.Form.Has(k) {
				t.Errorf("the caller's %s was sent: %q", k, req.Form[k])
			}
		}
	}
}

// TestGrantDPoPWithCallersKey: a caller's DPoP key binds the tokens, and
// Tokens gives back the key and a transport that proves possession of it.
func TestGrantDPoPWithCallersKey(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		key  crypto.Signer
		opts func(*oidcmw.Options)
	}{
		"caller's P-256 key":   {key: ec},
		"caller's Ed25519 key": {key: ed},
		"Options.DPoP":         {opts: func(o *oidcmw.Options) { o.DPoP = true }},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, setup{opts: tc.opts})
			r, checks := customLogin(t, h)
			checks.DPoPKey = tc.key
			tokens, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tokens.TokenType != "DPoP" {
				t.Fatalf("token_type %q: not bound", tokens.TokenType)
			}
			key := tokens.DPoPKey()
			if key == nil || (tc.key != nil && thumbprint(t, key.Public()) != thumbprint(t, tc.key.Public())) {
				t.Fatalf("DPoPKey() = %T, want the key the tokens are bound to", key)
			}
			want := thumbprint(t, key.Public())
			var got string
			api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				proof, err := jose.ParseSignedCompact(r.Header.Get("DPoP"), []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA})
				if err != nil || r.Header.Get("Authorization") != "DPoP "+tokens.AccessToken {
					http.Error(w, "no DPoP", http.StatusUnauthorized)
					return
				}
				jwk := proof.Signatures[0].Protected.JSONWebKey
				if _, err := proof.Verify(jwk); err != nil {
					http.Error(w, "bad proof", http.StatusUnauthorized)
					return
				}
				got = thumbprint(t, jwk.Key)
			}))
			defer api.Close()
			resp, err := (&http.Client{Transport: tokens.Transport(nil)}).Get(api.URL + "/resource")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || got != want {
				t.Fatalf("API call: %d, proof key %q, want %q", resp.StatusCode, got, want)
			}
		})
	}
}

func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return string(tp)
}

// TestGrantRefusesTokensInAuthorizationResponse: a code-flow response
// never carries tokens, and carries a JARM response only when JARM is in
// use. Each is refused before anything is redeemed.
func TestGrantRefusesTokensInAuthorizationResponse(t *testing.T) {
	for _, param := range []string{"id_token", "access_token", "response"} {
		t.Run(param, func(t *testing.T) {
			h := newHarness(t, setup{})
			r, checks := customLogin(t, h)
			r = httptest.NewRequest(http.MethodGet, withParam(t, r.URL.String(), param, "eyJhbGciOiJub25lIn0.e30."), nil)
			_, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil)
			if !errors.Is(err, oidcmw.ErrInvalidCallback) || h.op.Count("/token") != 0 {
				t.Fatalf("%v, %d token requests; want ErrInvalidCallback and none", err, h.op.Count("/token"))
			}
		})
	}
}

// TestGrantExpiresIn: ExpiresIn is 0 for expires_in 0 and -1 only when
// expires_in is absent.
func TestGrantExpiresIn(t *testing.T) {
	for _, tc := range []struct {
		behave oidctest.Behavior
		want   time.Duration
	}{
		{oidctest.TokenExpiresInZero, 0},
		{oidctest.TokenNoExpiresIn, -1},
	} {
		t.Run(string(tc.behave), func(t *testing.T) {
			h := newHarness(t, setup{})
			h.op.Misbehave(tc.behave)
			r, checks := customLogin(t, h)
			tokens, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := tokens.ExpiresIn(); got != tc.want {
				t.Fatalf("ExpiresIn() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGuardZeroLifetimeNoRefreshLoop: a session whose access token came
// with expires_in 0 is timed like one without a lifetime: the guard does
// not refresh it on every request.
func TestGuardZeroLifetimeNoRefreshLoop(t *testing.T) {
	h := newHarness(t, setup{})
	h.op.Misbehave(oidctest.TokenExpiresInZero)
	h.login(h.browser, "/")
	for range 3 {
		if resp, body := h.navigate(h.browser, "/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	if n := refreshGrants(h.op); n != 0 {
		t.Fatalf("%d refreshes for a login and 3 requests", n)
	}

	// The same when a refresh answers expires_in 0.
	h = newHarness(t, setup{})
	h.login(h.browser, "/")
	h.op.Misbehave(oidctest.TokenExpiresInZero)
	h.clock.Advance(time.Hour - 30*time.Second) // inside the refresh margin
	for range 3 {
		if resp, body := h.navigate(h.browser, "/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
	}
	if n := refreshGrants(h.op); n != 1 {
		t.Fatalf("%d refreshes, want the one inside the margin", n)
	}
}

// TestGrantTokenEndpoint5xxWithOAuthError: a 5xx with an OAuth error body
// is a *ProviderError that keeps the status and the code, and is an
// outage: it matches ErrProviderUnavailable and answers 502.
func TestGrantTokenEndpoint5xxWithOAuthError(t *testing.T) {
	h := newHarness(t, setup{})
	h.op.Misbehave(oidctest.TokenUnavailable)
	r, checks := customLogin(t, h)
	_, err := h.m.AuthorizationCodeGrant(context.Background(), r, checks, nil)
	var pe *oidcmw.ProviderError
	if !errors.As(err, &pe) || pe.Code != "temporarily_unavailable" || pe.StatusCode != http.StatusServiceUnavailable || !pe.TokenEndpoint {
		t.Fatalf("%#v, want a ProviderError with temporarily_unavailable and 503", err)
	}
	if !errors.Is(err, oidcmw.ErrProviderUnavailable) || oidcmw.StatusCode(err) != http.StatusBadGateway {
		t.Fatalf("matches ErrProviderUnavailable: %v; status %d, want 502", errors.Is(err, oidcmw.ErrProviderUnavailable), oidcmw.StatusCode(err))
	}
}

// TestAfterLoginContextCarriesIdentity: FromContext works in the
// AfterLogin hook, on the identity that is about to be signed in.
func TestAfterLoginContextCarriesIdentity(t *testing.T) {
	var got string
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.AfterLogin = func(ctx context.Context, id *oidcmw.Identity) error {
			if fromCtx, ok := oidcmw.FromContext(ctx); ok && fromCtx == id {
				got = fromCtx.Subject
			}
			return nil
		}
	}})
	h.login(h.browser, "/")
	if got != "alice" {
		t.Fatalf("FromContext in AfterLogin gave %q", got)
	}
}
