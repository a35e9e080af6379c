package oidcmw_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/oidcmw/oidcmw"
	"github.com/oidcmw/oidcmw/oidctest"
)

// longSecret is long enough for HS256 client assertions.
const longSecret = "a-client-secret-of-at-least-32-bytes!"

// publicJWKS is the client's registered key set; the middleware names its
// key by its RFC 7638 thumbprint (Options.ClientKeyID's default).
func publicJWKS(key crypto.Signer) *jose.JSONWebKeySet {
	jwk := jose.JSONWebKey{Key: key.Public(), Use: "sig"}
	tp, _ := jwk.Thumbprint(crypto.SHA256)
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{jwk}}
}

// tokenRequests returns the forms of the OP's token requests.
func tokenRequests(op *oidctest.Server) []oidctest.Request {
	var out []oidctest.Request
	for _, r := range op.Requests() {
		if r.Path == "/token" {
			out = append(out, r)
		}
	}
	return out
}

func TestClientAssertions(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	cases := []struct {
		name   string
		client oidctest.Client
		opts   func(*oidcmw.Options)
	}{
		{"private_key_jwt RSA", oidctest.Client{ID: "pkj", AuthMethod: "private_key_jwt", JWKS: publicJWKS(rsaKey)},
			func(o *oidcmw.Options) { o.ClientID, o.ClientSecret, o.ClientKey = "pkj", "", rsaKey }},
		{"private_key_jwt ECDSA", oidctest.Client{ID: "pkj", AuthMethod: "private_key_jwt", JWKS: publicJWKS(ecKey)},
			func(o *oidcmw.Options) { o.ClientID, o.ClientSecret, o.ClientKey = "pkj", "", ecKey }},
		{"private_key_jwt Ed25519", oidctest.Client{ID: "pkj", AuthMethod: "private_key_jwt", JWKS: publicJWKS(edKey)},
			func(o *oidcmw.Options) { o.ClientID, o.ClientSecret, o.ClientKey = "pkj", "", edKey }},
		{"client_secret_jwt", oidctest.Client{ID: "csj", Secret: longSecret, AuthMethod: "client_secret_jwt"},
			func(o *oidcmw.Options) {
				o.ClientID, o.ClientSecret, o.ClientAuthMethod = "csj", longSecret, "client_secret_jwt"
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{op: oidctest.Config{Clients: []oidctest.Client{tc.client}}, opts: func(o *oidcmw.Options) {
				tc.opts(o)
				o.RevokeOnLogout = true
			}})
			h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
			h.login(h.browser, "/")
			h.clock.Advance(time.Hour - 10*time.Second) // refresh with an assertion too
			if !h.signedIn(h.browser) || refreshGrants(h.op) != 1 {
				t.Fatal("refresh with a client assertion failed")
			}
			for _, r := range tokenRequests(h.op) {
				if r.Form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ||
					r.Form.Get("client_assertion") == "" || r.Form.Has("client_secret") || r.Header.Get("Authorization") != "" {
					t.Errorf("token request authenticated with %v", r.Form)
				}
			}
			do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Origin": h.app.URL}, nil)
			if n := h.op.Count("/revoke"); n != 1 {
				t.Errorf("revocation with an assertion: %d requests", n)
			}
		})
	}
}

func TestPARAndRequestObjects(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwtClient := oidctest.Client{ID: "jar", AuthMethod: "private_key_jwt", JWKS: publicJWKS(ecKey)}
	withKey := func(o *oidcmw.Options) { o.ClientID, o.ClientSecret, o.ClientKey = "jar", "", ecKey }
	cases := []struct {
		name   string
		op     oidctest.Config
		opts   func(*oidcmw.Options)
		pushed bool // the browser carries only client_id and request_uri
		object bool // the browser carries a request object
	}{
		{name: "PAR asked for", opts: func(o *oidcmw.Options) { o.PAR = true }, pushed: true},
		{name: "PAR required by the provider", op: oidctest.Config{RequirePAR: true}, pushed: true},
		{name: "request object signed with the client key", op: oidctest.Config{Clients: []oidctest.Client{jwtClient}, RequireSignedRequestObject: true},
			opts: func(o *oidcmw.Options) { withKey(o); o.RequestObject = true }, object: true},
		{name: "request object signed with the secret", op: oidctest.Config{
			Clients: []oidctest.Client{{ID: "hs", Secret: longSecret}}, RequireSignedRequestObject: true},
			opts: func(o *oidcmw.Options) { o.ClientID, o.ClientSecret, o.RequestObject = "hs", longSecret, true }, object: true},
		{name: "request object pushed", op: oidctest.Config{Clients: []oidctest.Client{jwtClient}, RequirePAR: true},
			opts: func(o *oidcmw.Options) { withKey(o); o.RequestObject = true }, pushed: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, setup{op: tc.op, opts: tc.opts})
			q := mustParse(t, h.startLogin(h.browser, "/")).Query()
			switch {
			case tc.pushed && (len(q) != 2 || !strings.HasPrefix(q.Get("request_uri"), "urn:ietf:params:oauth:request_uri:")):
				t.Fatalf("pushed request, but the browser carries %v", q)
			case tc.object && (q.Get("request") == "" || q.Has("state") || q.Has("nonce") || q.Has("code_challenge")):
				t.Fatalf("request object, but the browser carries %v", q)
			}
			h.browser.Jar = nil // a fresh login below uses its own cookies
			h.browser = h.newBrowser()
			h.login(h.browser, "/")
		})
	}
}

func TestJARM(t *testing.T) {
	for _, mode := range []string{"jwt", "query.jwt", "form_post.jwt"} {
		t.Run(mode, func(t *testing.T) {
			h := newHarness(t, setup{op: oidctest.Config{JARM: true}, https: mode == "form_post.jwt",
				opts: func(o *oidcmw.Options) { o.ResponseMode = mode }})
			authURL := h.startLogin(h.browser, "/j")
			resp, body := do(t, h.browser, http.MethodGet, authURL, htmlAccept, nil)
			if mode == "form_post.jwt" {
				action, fields, err := oidctest.ParseFormPost(strings.NewReader(body))
				if err != nil || len(fields) != 1 || fields.Get("response") == "" {
					t.Fatalf("form: %v %v", fields, err)
				}
				resp, _ = do(t, h.browser, http.MethodPost, action,
					map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, strings.NewReader(fields.Encode()))
			} else {
				cb := resp.Header.Get("Location")
				if q := mustParse(t, cb).Query(); len(q) != 1 || q.Get("response") == "" {
					t.Fatalf("JARM redirect carries %v", q)
				}
				resp, _ = h.callback(h.browser, cb)
			}
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/j" {
				t.Fatalf("JARM callback: %d (%v)", resp.StatusCode, h.lastErr())
			}
		})
	}
	for _, b := range []oidctest.Behavior{oidctest.JARMInvalidSignature, oidctest.JARMWrongAudience,
		oidctest.JARMExpired, oidctest.JARMWrongIssuer} {
		t.Run(string(b), func(t *testing.T) {
			h := newHarness(t, setup{op: oidctest.Config{JARM: true}, opts: func(o *oidcmw.Options) { o.ResponseMode = "jwt" }})
			authURL := h.startLogin(h.browser, "/")
			h.op.Misbehave(b)
			resp, _ := h.callback(h.browser, h.authorize(h.browser, authURL))
			if resp.StatusCode != http.StatusBadRequest || h.op.Count("/token") != 0 {
				t.Fatalf("%d, %d token requests (%v)", resp.StatusCode, h.op.Count("/token"), h.lastErr())
			}
			assertNoSession(t, h, resp)
		})
	}
	// The response JWT is the one parameter of a JARM response: an unsigned
	// parameter beside it is refused, not ignored (JARM §2.3.1).
	for _, extra := range []string{"state", "iss", "foo"} {
		t.Run("extra "+extra, func(t *testing.T) {
			h := newHarness(t, setup{op: oidctest.Config{JARM: true}, opts: func(o *oidcmw.Options) { o.ResponseMode = "jwt" }})
			cb := h.authorize(h.browser, h.startLogin(h.browser, "/"))
			resp, _ := h.callback(h.browser, withParam(t, cb, extra, "x"))
			if resp.StatusCode != http.StatusBadRequest || !errors.Is(h.lastErr(), oidcmw.ErrInvalidCallback) || h.op.Count("/token") != 0 {
				t.Fatalf("%d, %d token requests (%v)", resp.StatusCode, h.op.Count("/token"), h.lastErr())
			}
			assertNoSession(t, h, resp)
		})
	}
	// A plain response to a JARM client is refused too.
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.ResponseMode = "jwt" }})
	resp, _ := h.callback(h.browser, h.app.URL+"/auth/callback?code=abc&state="+foreignState)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("plain response to a JARM client: %d", resp.StatusCode)
	}
}

func TestDPoP(t *testing.T) {
	h := newHarness(t, setup{op: oidctest.Config{DPoPNonce: true}, opts: func(o *oidcmw.Options) {
		o.DPoP = true
		o.FetchUserInfo = true
	}})
	who := whoami(h)
	h.login(h.browser, "/")
	id := who()
	if !strings.EqualFold(id.TokenType, "DPoP") {
		t.Fatalf("token type %q, want a DPoP-bound token", id.TokenType)
	}
	for _, r := range tokenRequests(h.op) {
		if r.Header.Get("DPoP") == "" {
			t.Fatalf("token request without a DPoP proof")
		}
	}
	// The identity's transport calls APIs with proofs; the Bearer scheme is
	// refused for a bound token.
	info, err := h.m.UserInfo(context.Background(), id)
	if err != nil || !strings.Contains(string(info), `"sub":"alice"`) {
		t.Fatalf("UserInfo with DPoP: %s %v", info, err)
	}
	req, _ := http.NewRequest(http.MethodGet, h.op.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+id.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a bound token as Bearer: %d", resp.StatusCode)
	}
	// Refresh with a proof; the provider's nonce changes on the way.
	h.op.RotateDPoPNonce()
	h.clock.Advance(time.Hour - 10*time.Second)
	if id2 := who(); id2.AccessToken == id.AccessToken || !strings.EqualFold(id2.TokenType, "DPoP") {
		t.Fatalf("refresh of a DPoP session: %+v", id2)
	}
}

func TestDPoPNonceLoopStops(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) { o.DPoP = true }})
	authURL := h.startLogin(h.browser, "/")
	h.op.Misbehave(oidctest.DPoPNonceLoop)
	resp, _ := h.callback(h.browser, h.authorize(h.browser, authURL))
	if resp.StatusCode != http.StatusBadGateway || h.op.Count("/token") != 2 {
		t.Fatalf("nonce loop: %d after %d token requests, want 502 after 2", resp.StatusCode, h.op.Count("/token"))
	}
}

func TestEncryptedIDToken(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := []struct {
		alg, enc string
		priv     crypto.PrivateKey
		pub      crypto.PublicKey
	}{
		{"RSA-OAEP", "A256GCM", rsaKey, &rsaKey.PublicKey},
		{"RSA-OAEP-256", "A128CBC-HS256", rsaKey, &rsaKey.PublicKey},
		{"ECDH-ES", "A128GCM", ecKey, &ecKey.PublicKey},
		{"ECDH-ES+A128KW", "A256GCM", ecKey, &ecKey.PublicKey},
	}
	for _, tc := range cases {
		t.Run(tc.alg+" "+tc.enc, func(t *testing.T) {
			client := oidctest.Client{ID: oidctest.DefaultClientID, Secret: oidctest.DefaultClientSecret,
				IDTokenEncryption: &oidctest.Encryption{Alg: tc.alg, Enc: tc.enc, Key: &jose.JSONWebKey{Key: tc.pub}}}
			for _, withKey := range []bool{true, false} {
				h := newHarness(t, setup{op: oidctest.Config{Clients: []oidctest.Client{client}}, opts: func(o *oidcmw.Options) {
					if withKey {
						o.DecryptionKey = tc.priv
					}
				}})
				if withKey {
					who := whoami(h)
					h.login(h.browser, "/")
					// The session keeps the signed token inside, and the
					// logout hint is that JWS, never the JWE.
					if id := who(); strings.Count(id.IDToken, ".") != 2 {
						t.Fatalf("Identity.IDToken has %d dots, want a JWS", strings.Count(id.IDToken, "."))
					}
					h.app.Config.Handler.(*http.ServeMux).HandleFunc("/auth/logout", h.m.Logout)
					resp, body := do(t, h.browser, http.MethodPost, h.app.URL+"/auth/logout", map[string]string{"Origin": h.app.URL}, nil)
					_, params := endSession(t, resp, body)
					hint := params.Get("id_token_hint")
					if strings.Count(hint, ".") != 2 {
						t.Fatalf("id_token_hint %.20q... is not a JWS", hint)
					}
					continue
				}
				resp, _ := h.callback(h.browser, h.authorize(h.browser, h.startLogin(h.browser, "/")))
				if resp.StatusCode != http.StatusUnauthorized || !errors.Is(h.lastErr(), oidcmw.ErrInvalidIDToken) {
					t.Fatalf("encrypted ID token without a key: %d %v", resp.StatusCode, h.lastErr())
				}
			}
		})
	}
}

func TestResourceIndicators(t *testing.T) {
	h := newHarness(t, setup{opts: func(o *oidcmw.Options) {
		o.AuthParams = url.Values{"resource": {"https://api.example/"}}
		o.TokenParams = url.Values{"resource": {"https://api.example/"}}
	}})
	h.login(h.browser, "/")
	for _, r := range h.op.Requests() {
		if (r.Path == "/authorize" && r.Query.Get("resource") != "https://api.example/") ||
			(r.Path == "/token" && r.Form.Get("resource") != "https://api.example/") {
			t.Errorf("%s without the resource indicator", r.Path)
		}
	}
}

// TestIdentityTransport: the identity's transport calls an API with the
// access token, as Bearer without DPoP and with a fresh proof with DPoP.
func TestIdentityTransport(t *testing.T) {
	for _, dpop := range []bool{false, true} {
		h := newHarness(t, setup{op: oidctest.Config{Now: time.Now}, opts: func(o *oidcmw.Options) {
			o.DPoP = dpop
			o.Now = time.Now
		}})
		h.login(h.browser, "/")
		id := whoami(h)()
		c := &http.Client{Transport: id.Transport(nil)}
		defer c.CloseIdleConnections()
		resp, err := c.Get(h.op.URL + "/userinfo")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("DPoP %v: userinfo through the transport: %d", dpop, resp.StatusCode)
		}
		last := h.op.Requests()[len(h.op.Requests())-1]
		scheme, _, _ := strings.Cut(last.Header.Get("Authorization"), " ")
		if want := map[bool]string{false: "Bearer", true: "DPoP"}[dpop]; scheme != want || (last.Header.Get("DPoP") != "") != dpop {
			t.Fatalf("DPoP %v: Authorization scheme %q, proof %v", dpop, scheme, last.Header.Get("DPoP") != "")
		}
	}
}
