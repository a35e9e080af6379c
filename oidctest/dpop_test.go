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

// dpopSetup is a server with a public client and a DPoP key per
// algorithm.
type dpopSetup struct {
	s   *Server
	clk *clock
}

func newDPoPSetup(t *testing.T, cfg Config) *dpopSetup {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	cfg.Now = clk.Now
	s := newTestServer(t, cfg)
	s.AddClient(Client{ID: "public"})
	return &dpopSetup{s: s, clk: clk}
}

// token posts form to the token endpoint with a proof of k (none when k
// is nil), authenticated by auth.
func (d *dpopSetup) token(t *testing.T, k *clientKey, nonce string, form url.Values, auth func(*http.Request)) (int, http.Header, map[string]any) {
	t.Helper()
	if k != nil {
		auth = withDPoP(dpopProof(t, k, http.MethodPost, d.s.URL+"/token", nonce, "", d.clk.Now(), nil), auth)
	}
	return postJSON(t, d.s, "/token", form, auth)
}

// userinfo calls the UserInfo endpoint with scheme and at and, when k is
// set, a proof of k.
func (d *dpopSetup) userinfo(t *testing.T, scheme string, at any, k *clientKey) (int, http.Header) {
	t.Helper()
	resp, _ := get(t, d.s, "/userinfo", func(r *http.Request) {
		r.Header.Set("Authorization", scheme+" "+at.(string))
		if k != nil {
			r.Header.Set("DPoP", dpopProof(t, k, http.MethodGet, d.s.URL+"/userinfo", "", at.(string), d.clk.Now(), nil))
		}
	})
	return resp.StatusCode, resp.Header
}

func TestDPoPBinding(t *testing.T) {
	for _, alg := range asymmetricAlgs {
		t.Run(string(alg), func(t *testing.T) {
			d := newDPoPSetup(t, Config{})
			k, other := testClientKey(t, alg, 0), testClientKey(t, jose.ES256, 1)
			f := newFlowFor(d.s, "public")
			status, _, tokens := d.token(t, k, "", withClientID(f.codeForm(f.code(t)), "public"), nil)
			if status != http.StatusOK {
				t.Fatalf("token: %d %v", status, tokens)
			}
			wantEqual(t, "token_type", tokens["token_type"], "DPoP")
			d.s.mu.Lock()
			jkt := d.s.access[tokens["access_token"].(string)].jkt
			d.s.mu.Unlock()
			wantEqual(t, "jkt", jkt, k.thumbprint(t))

			at := tokens["access_token"]
			if status, _ := d.userinfo(t, "DPoP", at, k); status != http.StatusOK {
				t.Errorf("userinfo with a proof: %d", status)
			}
			status, h := d.userinfo(t, "Bearer", at, nil)
			wantEqual(t, "userinfo as Bearer", status, http.StatusUnauthorized)
			if !strings.HasPrefix(h.Get("WWW-Authenticate"), "DPoP ") {
				t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
			}
			status, _ = d.userinfo(t, "DPoP", at, other)
			wantEqual(t, "userinfo with another key's proof", status, http.StatusUnauthorized)
			status, _ = d.userinfo(t, "DPoP", at, nil)
			wantEqual(t, "userinfo without a proof", status, http.StatusUnauthorized)
			resp, _ := get(t, d.s, "/userinfo", func(r *http.Request) {
				r.Header.Set("Authorization", "DPoP "+at.(string))
				r.Header.Set("DPoP", dpopProof(t, k, http.MethodGet, d.s.URL+"/userinfo", "", "", d.clk.Now(), nil))
			})
			wantEqual(t, "userinfo without ath", resp.StatusCode, http.StatusUnauthorized)
			resp, _ = get(t, d.s, "/userinfo", func(r *http.Request) {
				r.Header.Set("Authorization", "DPoP "+at.(string))
				r.Header.Set("DPoP", dpopProof(t, k, http.MethodPost, d.s.URL+"/userinfo", "", at.(string), d.clk.Now(), nil))
			})
			wantEqual(t, "userinfo with htm POST", resp.StatusCode, http.StatusUnauthorized)

			// The public client's refresh token is bound to the key.
			rt := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}, "client_id": {"public"}}
			status, _, body := d.token(t, nil, "", rt, nil)
			wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
			status, _, body = d.token(t, other, "", rt, nil)
			wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
			status, _, body = d.token(t, k, "", rt, nil)
			if status != http.StatusOK || body["token_type"] != "DPoP" {
				t.Errorf("refresh with the key: %d %v", status, body)
			}
		})
	}
}

func withClientID(form url.Values, id string) url.Values {
	form.Set("client_id", id)
	return form
}

func TestDPoPConfidentialClient(t *testing.T) {
	d := newDPoPSetup(t, Config{})
	k := testClientKey(t, jose.ES256, 0)
	f := newFlow(d.s)
	status, _, tokens := d.token(t, k, "", f.codeForm(f.code(t)), defaultAuth)
	if status != http.StatusOK || tokens["token_type"] != "DPoP" {
		t.Fatalf("token: %d %v", status, tokens)
	}
	// A confidential client's refresh token is not bound (RFC 9449 §5):
	// without a proof the new access token is a bearer token.
	status, body := refresh(t, d.s, tokens["refresh_token"].(string))
	if status != http.StatusOK || body["token_type"] != "Bearer" {
		t.Fatalf("refresh without proof: %d %v", status, body)
	}
	if status, _ := d.userinfo(t, "Bearer", body["access_token"], nil); status != http.StatusOK {
		t.Errorf("userinfo: %d", status)
	}
	// A bearer token is refused with the DPoP scheme.
	if status, _ := d.userinfo(t, "DPoP", body["access_token"], k); status != http.StatusUnauthorized {
		t.Errorf("unbound token as DPoP: %d", status)
	}
	// Without a proof nothing changes.
	tokens = newFlow(d.s).tokens(t)
	wantEqual(t, "token_type without DPoP", tokens["token_type"], "Bearer")
}

func TestDPoPProofRefused(t *testing.T) {
	d := newDPoPSetup(t, Config{})
	k, other := testClientKey(t, jose.ES256, 0), testClientKey(t, jose.EdDSA, 1)
	now := d.clk.Now()
	target := d.s.URL + "/token"
	replayed := dpopProof(t, k, http.MethodPost, target, "", "", now, nil)
	edit := func(e func(map[string]any)) func(*testing.T) string {
		return func(t *testing.T) string { return dpopProof(t, k, http.MethodPost, target, "", "", now, e) }
	}
	pub := other.public()
	tests := []struct {
		name  string
		proof func(t *testing.T) string
	}{
		{"typ JWT", func(t *testing.T) string {
			return sign(t, k.alg, k.priv, (&jose.SignerOptions{EmbedJWK: true}).WithType("JWT"),
				map[string]any{"jti": "a", "htm": "POST", "htu": target, "iat": now.Unix()})
		}},
		{"no jwk", func(t *testing.T) string {
			return sign(t, k.alg, k.priv, (&jose.SignerOptions{}).WithType("dpop+jwt"),
				map[string]any{"jti": "b", "htm": "POST", "htu": target, "iat": now.Unix()})
		}},
		{"jwk of another key", func(t *testing.T) string {
			return sign(t, k.alg, k.priv, (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", pub),
				map[string]any{"jti": "c", "htm": "POST", "htu": target, "iat": now.Unix()})
		}},
		{"HS256", func(t *testing.T) string {
			return sign(t, jose.HS256, []byte(jwtSecret), (&jose.SignerOptions{}).WithType("dpop+jwt"),
				map[string]any{"jti": "d", "htm": "POST", "htu": target, "iat": now.Unix()})
		}},
		{"htm GET", edit(func(c map[string]any) { c["htm"] = "GET" })},
		{"htu another endpoint", edit(func(c map[string]any) { c["htu"] = d.s.URL + "/userinfo" })},
		{"htu another host", edit(func(c map[string]any) { c["htu"] = "https://op.example/token" })},
		{"no jti", edit(func(c map[string]any) { delete(c, "jti") })},
		{"no iat", edit(func(c map[string]any) { delete(c, "iat") })},
		{"iat 10 minutes ago", edit(func(c map[string]any) { c["iat"] = now.Add(-10 * time.Minute).Unix() })},
		{"iat 10 minutes ahead", edit(func(c map[string]any) { c["iat"] = now.Add(10 * time.Minute).Unix() })},
		{"replayed jti", func(*testing.T) string { return replayed }},
	}
	f := newFlow(d.s)
	if status, _, body := postJSON(t, d.s, "/token", f.codeForm(f.code(t)), withDPoP(replayed, defaultAuth)); status != http.StatusOK {
		t.Fatalf("first use: %d %v", status, body)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(d.s)
			code := f.code(t)
			status, _, body := postJSON(t, d.s, "/token", f.codeForm(code), withDPoP(tt.proof(t), defaultAuth))
			wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_dpop_proof")
			// The code was not used up: the client may try again.
			status, _, body = d.token(t, k, "", f.codeForm(code), defaultAuth)
			if status != http.StatusOK {
				t.Errorf("retry: %d %v", status, body)
			}
		})
	}
	// htu ignores query and fragment, and the case of scheme and host.
	f = newFlow(d.s)
	proof := dpopProof(t, k, http.MethodPost, strings.ToUpper(d.s.URL[:4])+d.s.URL[4:]+"/token?x=1#y", "", "", now, nil)
	if status, _, body := postJSON(t, d.s, "/token", f.codeForm(f.code(t)), withDPoP(proof, defaultAuth)); status != http.StatusOK {
		t.Errorf("htu with query: %d %v", status, body)
	}
}

func TestDPoPNonce(t *testing.T) {
	d := newDPoPSetup(t, Config{DPoPNonce: true})
	k := testClientKey(t, jose.ES256, 0)
	f := newFlow(d.s)
	code := f.code(t)
	status, h, body := d.token(t, k, "", f.codeForm(code), defaultAuth)
	wantOAuthError(t, status, body, http.StatusBadRequest, "use_dpop_nonce")
	nonce := h.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce header")
	}
	// The retry with the nonce succeeds with the same code and assertion.
	status, h, body = d.token(t, k, nonce, f.codeForm(code), defaultAuth)
	if status != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("retry: %d %v", status, body)
	}
	wantEqual(t, "DPoP-Nonce on success", h.Get("DPoP-Nonce"), nonce)

	// After RotateDPoPNonce the old nonce is stale.
	d.s.RotateDPoPNonce()
	status, h, body = refreshWithProof(t, d, k, nonce, body)
	wantOAuthError(t, status, body, http.StatusBadRequest, "use_dpop_nonce")
	if fresh := h.Get("DPoP-Nonce"); fresh == "" || fresh == nonce {
		t.Errorf("DPoP-Nonce after rotation = %q", fresh)
	}
	// Without a proof no nonce is needed.
	newFlow(d.s).tokens(t)

	// The nonce changes by itself after 10 uses.
	nonce = d.s.currentDPoPNonce()
	seen := []string{nonce}
	for range 25 {
		f := newFlow(d.s)
		status, h, body := d.token(t, k, nonce, f.codeForm(f.code(t)), defaultAuth)
		if status == http.StatusBadRequest && body["error"] == "use_dpop_nonce" {
			t.Fatalf("nonce %q refused; it changes after use, in the success response", nonce)
		}
		if status != http.StatusOK {
			t.Fatalf("token: %d %v", status, body)
		}
		if next := h.Get("DPoP-Nonce"); next != nonce {
			nonce = next
			seen = append(seen, next)
		}
	}
	if len(seen) != 3 || slices.Contains(seen[1:], seen[0]) {
		t.Errorf("nonces over 25 uses: %d, want 3", len(seen))
	}
}

func refreshWithProof(t *testing.T, d *dpopSetup, k *clientKey, nonce string, tokens map[string]any) (int, http.Header, map[string]any) {
	t.Helper()
	return d.token(t, k, nonce, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tokens["refresh_token"].(string)}}, defaultAuth)
}

func TestDPoPJKT(t *testing.T) {
	d := newDPoPSetup(t, Config{})
	k, other := testClientKey(t, jose.ES256, 0), testClientKey(t, jose.ES256, 1)
	for _, tt := range []struct {
		name string
		key  *clientKey
		ok   bool
	}{{"same key", k, true}, {"another key", other, false}, {"no proof", nil, false}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(d.s)
			f.extra = url.Values{"dpop_jkt": {k.thumbprint(t)}}
			status, _, body := d.token(t, tt.key, "", f.codeForm(f.code(t)), defaultAuth)
			if tt.ok && status != http.StatusOK {
				t.Errorf("token: %d %v", status, body)
			}
			if !tt.ok {
				wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
			}
		})
	}
}

func TestDPoPAtPAR(t *testing.T) {
	d := newDPoPSetup(t, Config{})
	k, other := testClientKey(t, jose.ES256, 0), testClientKey(t, jose.ES256, 1)
	push := func(t *testing.T, f *flow, proof string) (int, map[string]any) {
		status, _, body := postJSON(t, d.s, "/par", f.params(), withDPoP(proof, defaultAuth))
		return status, body
	}
	for _, tt := range []struct {
		name string
		key  *clientKey
		ok   bool
	}{{"same key", k, true}, {"another key", other, false}, {"no proof", nil, false}} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(d.s)
			status, body := push(t, f, dpopProof(t, k, http.MethodPost, d.s.URL+"/par", "", "", d.clk.Now(), nil))
			if status != http.StatusCreated {
				t.Fatalf("par: %d %v", status, body)
			}
			p := authorizeRedirect(t, d.s, byReference(DefaultClientID, body["request_uri"].(string)))
			status, _, body = d.token(t, tt.key, "", f.codeForm(p.Get("code")), defaultAuth)
			if tt.ok && status != http.StatusOK {
				t.Errorf("token: %d %v", status, body)
			}
			if !tt.ok {
				wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
			}
		})
	}
	// A proof for another endpoint, or one whose key is not dpop_jkt, is refused.
	f := newFlow(d.s)
	status, body := push(t, f, dpopProof(t, k, http.MethodPost, d.s.URL+"/token", "", "", d.clk.Now(), nil))
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_dpop_proof")
	f.extra = url.Values{"dpop_jkt": {other.thumbprint(t)}}
	status, body = push(t, f, dpopProof(t, k, http.MethodPost, d.s.URL+"/par", "", "", d.clk.Now(), nil))
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_dpop_proof")
}

func TestDPoPDiscovery(t *testing.T) {
	s := newTestServer(t, Config{})
	_, doc := getJSON(t, s, discoveryPath, nil)
	if got := strs(doc["dpop_signing_alg_values_supported"]); !slices.Equal(got, []string{"RS256", "PS256", "ES256", "EdDSA"}) {
		t.Errorf("dpop_signing_alg_values_supported = %v", got)
	}
}

// dpopNonceLoopCheck: every proof gets use_dpop_nonce with a new nonce,
// with or without the last one.
func dpopNonceLoopCheck(t *testing.T, s *Server) {
	k := testClientKey(t, jose.ES256, 0)
	f := newFlow(s)
	code := f.code(t)
	nonce := ""
	for i := range 3 {
		proof := dpopProof(t, k, http.MethodPost, s.URL+"/token", nonce, "", behaviorEpoch, nil)
		status, h, body := postJSON(t, s, "/token", f.codeForm(code), withDPoP(proof, defaultAuth))
		wantOAuthError(t, status, body, http.StatusBadRequest, "use_dpop_nonce")
		next := h.Get("DPoP-Nonce")
		if next == "" || next == nonce {
			t.Errorf("attempt %d: DPoP-Nonce %q after %q", i, next, nonce)
		}
		nonce = next
	}
}
