package oidcmw_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// A valid-looking state (26 base32 characters) that no login saved.
const foreignState = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// TestCallbackRejects runs one login per case with one thing wrong and
// checks the callback refuses it with the right status and error, creates
// no session, never runs the protected handler, and does not redeem the
// code when the failure comes before redemption. Each case names the check
// of doc.go's list that it covers; deleting that check makes it fail.
func TestCallbackRejects(t *testing.T) {
	var pe *oidcmw.ProviderError
	cases := []struct {
		name     string
		behave   []oidctest.Behavior
		opts     func(*oidcmw.Options)
		tamper   func(h *harness, cb string) string // rewrites the callback URL
		status   int
		err      error // sentinel; nil means a *ProviderError
		noRedeem bool  // the token endpoint must not be called
	}{
		// 1. parameters
		{name: "repeated state", tamper: func(h *harness, cb string) string {
			return cb + "&state=" + param(t, cb, "state")
		}, status: 400, err: oidcmw.ErrInvalidCallback, noRedeem: true},
		{name: "repeated code", tamper: func(h *harness, cb string) string { return cb + "&code=other" },
			status: 400, err: oidcmw.ErrInvalidCallback, noRedeem: true},
		{name: "oversized code", tamper: func(h *harness, cb string) string {
			return withParam(t, cb, "code", strings.Repeat("a", 100<<10))
		}, status: 400, err: oidcmw.ErrInvalidCallback, noRedeem: true},
		// 2-3. pending login and state
		{name: "unknown state", tamper: func(h *harness, cb string) string { return withParam(t, cb, "state", foreignState) },
			status: 400, err: oidcmw.ErrStateMismatch, noRedeem: true},
		{name: "missing state", tamper: func(h *harness, cb string) string { return withParam(t, cb, "state", "") },
			status: 400, err: oidcmw.ErrStateMismatch, noRedeem: true},
		{name: "state with control characters", tamper: func(h *harness, cb string) string {
			return withParam(t, cb, "state", param(t, cb, "state")+"\x00\r\n")
		}, status: 400, err: oidcmw.ErrStateMismatch, noRedeem: true},
		{name: "provider changed state", behave: []oidctest.Behavior{oidctest.WrongState},
			status: 400, err: oidcmw.ErrStateMismatch, noRedeem: true},
		{name: "provider dropped state", behave: []oidctest.Behavior{oidctest.MissingState},
			status: 400, err: oidcmw.ErrStateMismatch, noRedeem: true},
		{name: "pending login expired", tamper: func(h *harness, cb string) string {
			h.clock.Advance(10*time.Minute + time.Second)
			return cb
		}, status: 400, err: oidcmw.ErrLoginExpired, noRedeem: true},
		// 4. RFC 9207 iss
		{name: "wrong iss parameter", behave: []oidctest.Behavior{oidctest.WrongIssParam},
			status: 400, err: oidcmw.ErrIssuerMismatch, noRedeem: true},
		{name: "iss parameter missing although advertised", behave: []oidctest.Behavior{oidctest.RemoveIssParam},
			status: 400, err: oidcmw.ErrIssuerMismatch, noRedeem: true},
		// 5. error response, only after state and iss
		{name: "access denied", behave: []oidctest.Behavior{oidctest.AccessDenied}, status: 403, noRedeem: true},
		{name: "error response with foreign state", behave: []oidctest.Behavior{oidctest.AccessDenied},
			tamper: func(h *harness, cb string) string { return withParam(t, cb, "state", foreignState) },
			status: 400, err: oidcmw.ErrStateMismatch, noRedeem: true},
		{name: "error response with wrong iss", behave: []oidctest.Behavior{oidctest.AccessDenied, oidctest.WrongIssParam},
			status: 400, err: oidcmw.ErrIssuerMismatch, noRedeem: true},
		// 6. code
		{name: "missing code", tamper: func(h *harness, cb string) string { return withParam(t, cb, "code", "") },
			status: 400, err: oidcmw.ErrInvalidCallback, noRedeem: true},
		{name: "code rejected by the provider", tamper: func(h *harness, cb string) string { return withParam(t, cb, "code", "forged") },
			status: 400},
		// 7. token response
		{name: "token endpoint 500", behave: []oidctest.Behavior{oidctest.TokenServerError},
			status: 502, err: oidcmw.ErrProviderUnavailable},
		{name: "token response not JSON", behave: []oidctest.Behavior{oidctest.TokenNotJSON},
			status: 502, err: oidcmw.ErrInvalidTokenResponse},
		{name: "token type not Bearer", behave: []oidctest.Behavior{oidctest.TokenTypeWrong},
			status: 502, err: oidcmw.ErrInvalidTokenResponse},
		{name: "id_token missing", behave: []oidctest.Behavior{oidctest.TokenMissingIDToken},
			status: 502, err: oidcmw.ErrInvalidTokenResponse},
		{name: "token endpoint hangs", behave: []oidctest.Behavior{oidctest.TokenHang},
			opts:   func(o *oidcmw.Options) { o.HTTPClient = &http.Client{Timeout: 300 * time.Millisecond} },
			status: 504, err: oidcmw.ErrProviderUnavailable},
		// 8. ID token
		{name: "signature by the right kid with another key", behave: []oidctest.Behavior{oidctest.InvalidSignature}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "signature by an unrelated key", behave: []oidctest.Behavior{oidctest.UnrelatedKey}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "alg none", behave: []oidctest.Behavior{oidctest.AlgNone}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "HS256 keyed with the public key", behave: []oidctest.Behavior{oidctest.HS256PublicKey}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "alg none although discovery lists it", behave: []oidctest.Behavior{oidctest.AdvertiseWeakAlgs, oidctest.AlgNone}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "HS256 although discovery lists it", behave: []oidctest.Behavior{oidctest.AdvertiseWeakAlgs, oidctest.HS256PublicKey}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "wrong iss", behave: []oidctest.Behavior{oidctest.WrongIssuer}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "wrong aud", behave: []oidctest.Behavior{oidctest.WrongAudience}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "several aud without azp", behave: []oidctest.Behavior{oidctest.ExtraAudienceNoAzp}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "azp is another client", behave: []oidctest.Behavior{oidctest.WrongAzp}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "expired", behave: []oidctest.Behavior{oidctest.Expired}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "iat missing", behave: []oidctest.Behavior{oidctest.MissingIat}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "exp missing", behave: []oidctest.Behavior{oidctest.MissingExp}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "nbf in the future", behave: []oidctest.Behavior{oidctest.FutureNbf}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "iat in the future", behave: []oidctest.Behavior{oidctest.FutureIat}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "sub missing", behave: []oidctest.Behavior{oidctest.MissingSub}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "nonce wrong", behave: []oidctest.Behavior{oidctest.WrongNonce}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "nonce missing", behave: []oidctest.Behavior{oidctest.MissingNonce}, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "auth_time missing with max_age", behave: []oidctest.Behavior{oidctest.MissingAuthTime},
			opts: func(o *oidcmw.Options) { o.MaxAge = time.Hour }, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "auth_time older than max_age", behave: []oidctest.Behavior{oidctest.OldAuthTime},
			opts: func(o *oidcmw.Options) { o.MaxAge = time.Hour }, status: 401, err: oidcmw.ErrInvalidIDToken},
		{name: "JWKS down", behave: []oidctest.Behavior{oidctest.JWKSDown}, status: 502, err: oidcmw.ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{opts: tc.opts})
			authURL := h.startLogin(h.browser, "/dashboard")
			h.op.Misbehave(tc.behave...)
			cb := h.authorize(h.browser, authURL)
			if tc.tamper != nil {
				cb = tc.tamper(h, cb)
			}
			resp, body := h.callback(h.browser, cb)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (err %v)", resp.StatusCode, tc.status, h.lastErr())
			}
			err := h.lastErr()
			switch {
			case tc.err != nil && !errors.Is(err, tc.err):
				t.Errorf("error %v, want %v", err, tc.err)
			case tc.err == nil && !errors.As(err, &pe):
				t.Errorf("error %v, want a *ProviderError", err)
			}
			assertNoSession(t, h, resp)
			if strings.Contains(body, "error_description") || strings.Contains(body, "oidcmw:") {
				t.Errorf("error page echoes error text: %q", body)
			}
			if n := h.op.Count("/token"); tc.noRedeem && n != 0 {
				t.Errorf("token endpoint called %d times; the code must not be redeemed", n)
			}
		})
	}
}

// TestCallbackAccepts covers provider behaviours a correct client accepts.
func TestCallbackAccepts(t *testing.T) {
	cases := []struct {
		name   string
		op     oidctest.Config
		behave []oidctest.Behavior
		opts   func(*oidcmw.Options)
	}{
		{name: "token_type lower case", behave: []oidctest.Behavior{oidctest.TokenTypeLowercase}},
		{name: "no kid with a single key", behave: []oidctest.Behavior{oidctest.KidAbsent}},
		{name: "provider without RFC 9207 iss", op: oidctest.Config{DisableIssParameter: true}},
		{name: "max_age with fresh auth_time", opts: func(o *oidcmw.Options) { o.MaxAge = time.Hour }},
		{name: "ES256", op: oidctest.Config{Alg: "ES256"}},
		{name: "PS256", op: oidctest.Config{Alg: "PS256"}},
		{name: "EdDSA", op: oidctest.Config{Alg: "EdDSA"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{op: tc.op, opts: tc.opts})
			h.op.Misbehave(tc.behave...)
			h.login(h.browser, "/dashboard")
		})
	}
}

// assertNoSession checks that a refused callback set no session cookie, the
// browser is not signed in, and the protected handler never ran.
func assertNoSession(t *testing.T, h *harness, resp *http.Response) {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "oidcmw" || c.Name == "__Host-oidcmw" {
			t.Errorf("refused callback set the session cookie")
		}
	}
	if h.signedIn(h.browser) {
		t.Errorf("browser is signed in after a refused callback")
	}
	if n := h.calls.Load(); n != 0 {
		t.Errorf("protected handler ran %d times", n)
	}
}

func param(t *testing.T, u, key string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Query().Get(key)
}
