package oidctest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

var behaviorEpoch = time.Unix(1_700_000_000, 0)

// claimsCheck runs the flow, requires a valid signature and checks the
// claims.
func claimsCheck(check func(t *testing.T, s *Server, f *flow, c map[string]any)) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		f := newFlow(s)
		raw, _, _ := f.idToken(t)
		check(t, s, f, mustVerify(t, s, raw))
	}
}

func absent(claim string) func(*testing.T, *Server, *flow, map[string]any) {
	return func(t *testing.T, s *Server, f *flow, c map[string]any) {
		if _, ok := c[claim]; ok {
			t.Errorf("%s present: %v", claim, c[claim])
		}
	}
}

func claimIs(claim string, want func(s *Server) any) func(*testing.T, *Server, *flow, map[string]any) {
	return func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, claim, fmt.Sprint(c[claim]), fmt.Sprint(want(s)))
	}
}

func at(d time.Duration) func(*Server) any {
	return func(*Server) any { return float64(behaviorEpoch.Add(d).Unix()) }
}

// sigCheck runs the flow and checks the unverified ID token.
func sigCheck(check func(t *testing.T, s *Server, raw string, header map[string]any)) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		raw, header, _ := newFlow(s).idToken(t)
		check(t, s, raw, header)
	}
}

func wantUnverifiable(t *testing.T, s *Server, raw string) {
	t.Helper()
	if _, err := verify(t, s, raw); err == nil {
		t.Error("ID token verifies against the JWKS")
	}
}

// redirectCheck checks the authorization response.
func redirectCheck(check func(t *testing.T, s *Server, f *flow, p url.Values)) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		f := newFlow(s)
		check(t, s, f, f.authorize(t))
	}
}

// tokenCheck checks the raw token endpoint response.
func tokenCheck(check func(t *testing.T, resp *http.Response, body []byte)) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		f := newFlow(s)
		form := url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {f.code(t)},
			"redirect_uri":  {f.redirectURI},
			"code_verifier": {f.verifier},
		}
		resp, body := post(t, s, "/token", form, basicAuth(DefaultClientID, DefaultClientSecret))
		check(t, resp, body)
	}
}

func tokenField(field string, want any) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		body := newFlow(s).tokens(t)
		wantEqual(t, field, body[field], want)
		if body["access_token"] == nil {
			t.Error("no access_token")
		}
	}
}

func statusCheck(path string, want int) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		resp, _ := get(t, s, path, nil)
		wantEqual(t, "GET "+path, resp.StatusCode, want)
	}
}

// startHang sends a request that the server will hang on and returns once
// the handler is waiting, with the channel that receives the client's
// result.
func startHang(t *testing.T, s *Server, ctx context.Context, path string) <-chan error {
	t.Helper()
	started := make(chan struct{})
	s.mu.Lock()
	s.onHang = func() { close(started) }
	s.mu.Unlock()
	method, body := http.MethodGet, ""
	if path == tokenPath {
		method, body = http.MethodPost, "grant_type=refresh_token"
	}
	req, err := http.NewRequestWithContext(ctx, method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	errc := make(chan error, 1)
	go func() {
		resp, err := s.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	<-started
	return errc
}

// hangCheck checks that path hangs until the client gives up.
func hangCheck(path string) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := startHang(t, s, ctx, path)
		cancel()
		if err := <-errc; err == nil {
			t.Error("hanging request got a response")
		}
	}
}

// refreshCheck runs the code flow, checks that the behaviour left it
// alone, then sends a refresh grant and checks the raw response.
func refreshCheck(check func(t *testing.T, s *Server, resp *http.Response, body []byte)) func(*testing.T, *Server) {
	return func(t *testing.T, s *Server) {
		tokens := codeGrantUnaffected(t, s)
		resp, body := post(t, s, "/token", url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {tokens["refresh_token"].(string)},
		}, basicAuth(DefaultClientID, DefaultClientSecret))
		check(t, s, resp, body)
	}
}

// codeGrantUnaffected runs the code flow and checks the tokens are sound.
func codeGrantUnaffected(t *testing.T, s *Server) map[string]any {
	t.Helper()
	tokens := newFlow(s).tokens(t)
	c := mustVerify(t, s, tokens["id_token"].(string))
	wantEqual(t, "code grant iss", c["iss"], s.URL)
	wantEqual(t, "code grant sub", c["sub"], "alice")
	if rt, _ := tokens["refresh_token"].(string); rt == "" {
		t.Fatal("code grant: no refresh_token")
	}
	return tokens
}

// refreshedClaims checks a successful refresh and returns the verified
// claims of its ID token.
func refreshedClaims(check func(t *testing.T, s *Server, c map[string]any)) func(*testing.T, *Server) {
	return refreshCheck(func(t *testing.T, s *Server, resp *http.Response, body []byte) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %s", resp.StatusCode, body)
		}
		check(t, s, mustVerify(t, s, m["id_token"].(string)))
	})
}

// offlineAccessCheck checks which authorization requests get a refresh
// token under OfflineAccessNeedsConsent.
func offlineAccessCheck(t *testing.T, s *Server) {
	for _, tt := range []struct {
		scope, prompt string
		want          bool
	}{
		{"openid offline_access", "consent", true},
		{"openid offline_access", "login consent", true},
		{"openid offline_access", "", false},
		{"openid", "consent", false},
		{"openid", "", false},
	} {
		f := newFlow(s)
		f.extra = url.Values{"scope": {tt.scope}, "prompt": {tt.prompt}}
		body := f.tokens(t)
		_, got := body["refresh_token"]
		if got != tt.want {
			t.Errorf("scope %q prompt %q: refresh_token present = %v, want %v", tt.scope, tt.prompt, got, tt.want)
		}
		if body["id_token"] == nil || body["access_token"] == nil {
			t.Errorf("scope %q prompt %q: %v", tt.scope, tt.prompt, body)
		}
	}
}

var behaviorChecks = map[Behavior]func(*testing.T, *Server){
	WrongIssuer:   claimsCheck(claimIs("iss", func(s *Server) any { return s.URL + "/other" })),
	WrongAudience: claimsCheck(claimIs("aud", func(*Server) any { return "someone-else" })),
	ExtraAudienceNoAzp: claimsCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, "aud", fmt.Sprint(c["aud"]), "["+DefaultClientID+" someone-else]")
		absent("azp")(t, s, f, c)
	}),
	WrongAzp: claimsCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, "aud", fmt.Sprint(c["aud"]), "["+DefaultClientID+" someone-else]")
		wantEqual(t, "azp", c["azp"], "someone-else")
	}),
	WrongNonce: claimsCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		if n, _ := c["nonce"].(string); n == "" || n == f.nonce {
			t.Errorf("nonce = %v, want another value", c["nonce"])
		}
	}),
	MissingNonce:    claimsCheck(absent("nonce")),
	MissingSub:      claimsCheck(absent("sub")),
	MissingIat:      claimsCheck(absent("iat")),
	FutureIat:       claimsCheck(claimIs("iat", at(time.Hour))),
	MissingAuthTime: claimsCheck(absent("auth_time")),
	OldAuthTime:     claimsCheck(claimIs("auth_time", at(-2*time.Hour))),
	MissingExp:      claimsCheck(absent("exp")),
	FutureNbf:       claimsCheck(claimIs("nbf", at(time.Hour))),
	Expired: claimsCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		claimIs("exp", at(-time.Hour))(t, s, f, c)
		claimIs("iat", at(-2*time.Hour))(t, s, f, c)
	}),
	InvalidSignature: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		set := fetchJWKS(t, s)
		wantEqual(t, "kid", h["kid"], set.Keys[0].KeyID)
		wantUnverifiable(t, s, raw)
	}),
	UnrelatedKey: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		set := fetchJWKS(t, s)
		if kid, _ := h["kid"].(string); kid == "" || len(set.Key(kid)) != 0 {
			t.Errorf("kid = %v, want one not in the JWKS", h["kid"])
		}
		wantUnverifiable(t, s, raw)
	}),
	AlgNone: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		wantEqual(t, "alg", h["alg"], "none")
		if !strings.HasSuffix(raw, ".") {
			t.Errorf("signature not empty: %s", raw)
		}
		wantUnverifiable(t, s, raw)
	}),
	HS256PublicKey: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		wantEqual(t, "alg", h["alg"], "HS256")
		set := fetchJWKS(t, s)
		wantEqual(t, "kid", h["kid"], set.Keys[0].KeyID)
		wantUnverifiable(t, s, raw)
		jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.HS256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(s.env("").key.publicPEM()); err != nil {
			t.Errorf("not an HMAC with the public key PEM: %v", err)
		}
	}),
	KidAbsent: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		if _, ok := h["kid"]; ok {
			t.Errorf("kid = %v", h["kid"])
		}
		set := fetchJWKS(t, s)
		if len(set.Keys) != 1 {
			t.Fatalf("JWKS has %d keys", len(set.Keys))
		}
		jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := jws.Verify(set.Keys[0]); err != nil {
			t.Errorf("does not verify with the only key: %v", err)
		}
	}),

	KidAbsentMultiple: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		if _, ok := h["kid"]; ok {
			t.Errorf("kid = %v", h["kid"])
		}
		if set := fetchJWKS(t, s); len(set.Keys) != 2 {
			t.Fatalf("JWKS has %d keys, want 2", len(set.Keys))
		}
	}),
	AlternateAlg: sigCheck(func(t *testing.T, s *Server, raw string, h map[string]any) {
		wantEqual(t, "alg", h["alg"], "PS256") // the default server signs RS256
		wantEqual(t, "kid", h["kid"], fetchJWKS(t, s).Keys[0].KeyID)
	}),
	AudAsArray: claimsCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		if aud, ok := c["aud"].([]any); !ok || len(aud) != 1 || aud[0] != DefaultClientID {
			t.Errorf("aud = %v", c["aud"])
		}
	}),
	MissingAud: claimsCheck(absent("aud")),

	WrongIssParam: redirectCheck(func(t *testing.T, s *Server, f *flow, p url.Values) {
		wantEqual(t, "iss", p.Get("iss"), s.URL+"/other")
	}),
	RemoveIssParam: redirectCheck(func(t *testing.T, s *Server, f *flow, p url.Values) {
		if p.Has("iss") {
			t.Errorf("iss = %q", p.Get("iss"))
		}
		_, doc := getJSON(t, s, discoveryPath, nil)
		wantEqual(t, "iss supported", doc["authorization_response_iss_parameter_supported"], true)
	}),
	WrongState: redirectCheck(func(t *testing.T, s *Server, f *flow, p url.Values) {
		if st := p.Get("state"); st == "" || st == f.state {
			t.Errorf("state = %q, want another value", st)
		}
	}),
	MissingState: redirectCheck(func(t *testing.T, s *Server, f *flow, p url.Values) {
		if p.Has("state") {
			t.Errorf("state = %q", p.Get("state"))
		}
	}),
	AccessDenied: redirectCheck(func(t *testing.T, s *Server, f *flow, p url.Values) {
		wantEqual(t, "error", p.Get("error"), "access_denied")
		wantEqual(t, "state", p.Get("state"), f.state)
		wantEqual(t, "iss", p.Get("iss"), s.URL)
		if p.Has("code") || p.Get("error_description") == "" {
			t.Errorf("params = %v", p)
		}
	}),

	TokenServerError: tokenCheck(func(t *testing.T, resp *http.Response, body []byte) {
		wantEqual(t, "status", resp.StatusCode, http.StatusInternalServerError)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
		}
	}),
	TokenNotJSON: tokenCheck(func(t *testing.T, resp *http.Response, body []byte) {
		wantEqual(t, "status", resp.StatusCode, http.StatusOK)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || json.Valid(body) {
			t.Errorf("Content-Type %q, body %q", resp.Header.Get("Content-Type"), body)
		}
	}),
	TokenHang:           hangCheck(tokenPath),
	TokenTypeLowercase:  tokenField("token_type", "bearer"),
	TokenTypeWrong:      tokenField("token_type", "MAC"),
	TokenMissingIDToken: tokenField("id_token", nil),
	TokenUnavailable: tokenCheck(func(t *testing.T, resp *http.Response, body []byte) {
		wantEqual(t, "status", resp.StatusCode, http.StatusServiceUnavailable)
		if !strings.Contains(string(body), `"temporarily_unavailable"`) {
			t.Errorf("body %s", body)
		}
	}),
	TokenExpiresInZero: tokenField("expires_in", float64(0)),
	TokenNoExpiresIn:   tokenField("expires_in", nil),

	RefreshInvalidSub: refreshedClaims(func(t *testing.T, s *Server, c map[string]any) {
		wantEqual(t, "sub", c["sub"], "alice-other")
		wantEqual(t, "iss", c["iss"], s.URL)
	}),
	RefreshInvalidIssuer: refreshedClaims(func(t *testing.T, s *Server, c map[string]any) {
		wantEqual(t, "iss", c["iss"], s.URL+"/other")
		wantEqual(t, "sub", c["sub"], "alice")
	}),
	RefreshNoIDToken: refreshCheck(func(t *testing.T, s *Server, resp *http.Response, body []byte) {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh: %d %s", resp.StatusCode, body)
		}
		if _, ok := m["id_token"]; ok || m["access_token"] == nil {
			t.Errorf("refresh response %v, want access_token without id_token", m)
		}
	}),
	RefreshInvalidGrant: refreshCheck(func(t *testing.T, s *Server, resp *http.Response, body []byte) {
		var m map[string]any
		json.Unmarshal(body, &m)
		wantOAuthError(t, resp.StatusCode, m, http.StatusBadRequest, "invalid_grant")
	}),
	RefreshServerError: refreshCheck(func(t *testing.T, s *Server, resp *http.Response, body []byte) {
		wantEqual(t, "status", resp.StatusCode, http.StatusInternalServerError)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
		}
	}),
	RefreshHang: func(t *testing.T, s *Server) {
		codeGrantUnaffected(t, s)
		hangCheck(tokenPath)(t, s)
	},
	RefreshRepeatsNonce: func(t *testing.T, s *Server) {
		f := newFlow(s)
		tokens := f.tokens(t)
		wantEqual(t, "code grant nonce", mustVerify(t, s, tokens["id_token"].(string))["nonce"], f.nonce)
		status, _, body := postJSON(t, s, "/token", url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {tokens["refresh_token"].(string)},
		}, basicAuth(DefaultClientID, DefaultClientSecret))
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, body)
		}
		wantEqual(t, "refreshed nonce", mustVerify(t, s, body["id_token"].(string))["nonce"], f.nonce)
	},
	OfflineAccessNeedsConsent: offlineAccessCheck,

	JARMInvalidSignature: jarmCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, "iss", c["iss"], s.URL)
	}, false),
	JARMWrongAudience: jarmCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, "aud", c["aud"], "someone-else")
	}, true),
	JARMExpired: jarmCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, "exp", c["exp"], float64(behaviorEpoch.Add(-time.Hour).Unix()))
	}, true),
	JARMWrongIssuer: jarmCheck(func(t *testing.T, s *Server, f *flow, c map[string]any) {
		wantEqual(t, "iss", c["iss"], s.URL+"/other")
		wantEqual(t, "aud", c["aud"], DefaultClientID)
	}, true),

	DPoPNonceLoop: dpopNonceLoopCheck,

	UserinfoInvalidSub: func(t *testing.T, s *Server) {
		tokens := newFlow(s).tokens(t)
		status, info := getJSON(t, s, "/userinfo", bearer(tokens["access_token"]))
		wantEqual(t, "status", status, http.StatusOK)
		wantEqual(t, "sub", info["sub"], "alice-other")
		wantEqual(t, "email", info["email"], "alice@example.com")
		wantEqual(t, "ID token sub", mustVerify(t, s, tokens["id_token"].(string))["sub"], "alice")
	},

	DiscoveryIssuerMismatch: func(t *testing.T, s *Server) {
		_, doc := getJSON(t, s, discoveryPath, nil)
		wantEqual(t, "issuer", doc["issuer"], s.URL+"/other")
		wantEqual(t, "Issuer()", s.Issuer(), s.URL+"/other")
		wantEqual(t, "token_endpoint", doc["token_endpoint"], s.URL+"/token")
	},
	DiscoveryDown: statusCheck(discoveryPath, http.StatusInternalServerError),
	JWKSDown:      statusCheck(jwksPath, http.StatusInternalServerError),
	DiscoveryHang: hangCheck(discoveryPath),
	AdvertiseWeakAlgs: func(t *testing.T, s *Server) {
		_, doc := getJSON(t, s, discoveryPath, nil)
		algs := fmt.Sprint(doc["id_token_signing_alg_values_supported"])
		if !strings.Contains(algs, "none") || !strings.Contains(algs, "HS256") || !strings.Contains(algs, "RS256") {
			t.Errorf("id_token_signing_alg_values_supported = %s", algs)
		}
	},
}

func TestBehaviors(t *testing.T) {
	all := Behaviors()
	if !slices.IsSorted(all) || len(all) != len(behaviors) {
		t.Fatalf("Behaviors() = %v", all)
	}
	for _, b := range all {
		t.Run(string(b), func(t *testing.T) {
			check := behaviorChecks[b]
			if check == nil {
				t.Fatal("no check in behaviorChecks")
			}
			s := newTestServer(t, Config{Now: func() time.Time { return behaviorEpoch }})
			s.Misbehave(b)
			check(t, s)
		})
	}
}

func TestMisbehave(t *testing.T) {
	s := newTestServer(t, Config{})
	s.Misbehave(WrongIssuer, MissingSub)
	_, _, c := newFlow(s).idToken(t)
	if c["iss"] != s.URL+"/other" || c["sub"] != nil {
		t.Errorf("both behaviours should apply: %v", c)
	}
	s.Misbehave()
	_, _, c = newFlow(s).idToken(t)
	if c["iss"] != s.URL || c["sub"] != "alice" {
		t.Errorf("Misbehave() should switch all off: %v", c)
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("unknown behaviour did not panic")
		}
	}()
	s.Misbehave("no-such-behavior")
}

func TestHangReleasedByClose(t *testing.T) {
	for _, tt := range []struct {
		b    Behavior
		path string
	}{{TokenHang, tokenPath}, {RefreshHang, tokenPath}, {DiscoveryHang, discoveryPath}} {
		t.Run(string(tt.b), func(t *testing.T) {
			s := NewServer(Config{})
			s.Misbehave(tt.b)
			errc := startHang(t, s, context.Background(), tt.path)
			s.Close() // must not block on the hanging handler
			if err := <-errc; err == nil {
				t.Error("hanging request got a response after Close")
			}
		})
	}
}
