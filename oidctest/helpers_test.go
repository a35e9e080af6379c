package oidctest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

const testRedirect = "http://rp.example/callback"

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	s := NewServer(cfg)
	t.Cleanup(s.Close)
	return s
}

// noRedirect returns s's client, not following redirects.
func noRedirect(s *Server) *http.Client {
	c := *s.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// flow is one authorization code flow, done by hand.
type flow struct {
	s           *Server
	clientID    string
	redirectURI string
	verifier    string
	state       string
	nonce       string
	extra       url.Values          // added to the authorization request
	edit        func(url.Values)    // edits the authorization request last
	auth        func(*http.Request) // client authentication; default: basic for DefaultClientID
}

func newFlow(s *Server) *flow {
	return &flow{
		s:           s,
		clientID:    DefaultClientID,
		redirectURI: testRedirect,
		verifier:    rand.Text() + rand.Text(),
		state:       "st-" + rand.Text(),
		nonce:       "n-" + rand.Text(),
	}
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (f *flow) params() url.Values {
	p := url.Values{
		"response_type":         {"code"},
		"client_id":             {f.clientID},
		"redirect_uri":          {f.redirectURI},
		"scope":                 {"openid profile email"},
		"state":                 {f.state},
		"nonce":                 {f.nonce},
		"code_challenge":        {challenge(f.verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range f.extra {
		p[k] = v
	}
	if f.edit != nil {
		f.edit(p)
	}
	return p
}

// authorize sends the authorization request and returns the parameters of
// the redirect.
func (f *flow) authorize(t *testing.T) url.Values {
	t.Helper()
	resp, err := noRedirect(f.s).Get(f.s.URL + "/authorize?" + f.params().Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != f.redirectURI {
		t.Fatalf("redirected to %q, want %q", got, f.redirectURI)
	}
	return loc.Query()
}

// code runs authorize and returns the code.
func (f *flow) code(t *testing.T) string {
	t.Helper()
	p := f.authorize(t)
	if p.Get("code") == "" {
		t.Fatalf("authorize: no code in %v", p)
	}
	return p.Get("code")
}

// redeem exchanges code, authenticating with f.auth.
func (f *flow) redeem(t *testing.T, code string) (int, http.Header, map[string]any) {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {f.redirectURI},
		"code_verifier": {f.verifier},
	}
	auth := f.auth
	if auth == nil {
		auth = basicAuth(DefaultClientID, DefaultClientSecret)
	}
	return postJSON(t, f.s, "/token", form, auth)
}

// tokens runs the whole flow and returns the successful token response.
func (f *flow) tokens(t *testing.T) map[string]any {
	t.Helper()
	status, _, body := f.redeem(t, f.code(t))
	if status != http.StatusOK {
		t.Fatalf("token: status %d, body %v", status, body)
	}
	return body
}

func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) {
		r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
}

// post sends form to path and returns the response with its body read.
func post(t *testing.T, s *Server, path string, form url.Values, auth func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(t, s, req, auth)
}

func postJSON(t *testing.T, s *Server, path string, form url.Values, auth func(*http.Request)) (int, http.Header, map[string]any) {
	t.Helper()
	resp, b := post(t, s, path, form, auth)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("POST %s: status %d, body %q is not JSON: %v", path, resp.StatusCode, b, err)
	}
	return resp.StatusCode, resp.Header, m
}

// get fetches path and returns the response with its body read.
func get(t *testing.T, s *Server, path string, auth func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return send(t, s, req, auth)
}

// send sends req, after auth when set, without following redirects, and
// returns the response with its body read.
func send(t *testing.T, s *Server, req *http.Request, auth func(*http.Request)) (*http.Response, []byte) {
	t.Helper()
	if auth != nil {
		auth(req)
	}
	resp, err := noRedirect(s).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func getJSON(t *testing.T, s *Server, path string, auth func(*http.Request)) (int, map[string]any) {
	t.Helper()
	resp, b := get(t, s, path, auth)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("GET %s: status %d, body %q is not JSON: %v", path, resp.StatusCode, b, err)
	}
	return resp.StatusCode, m
}

func fetchJWKS(t *testing.T, s *Server) jose.JSONWebKeySet {
	t.Helper()
	resp, b := get(t, s, "/jwks", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("jwks: status %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	return set
}

var asymmetricAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// verify checks raw's signature against the server's JWKS, the way a
// relying party would, and returns the claims.
func verify(t *testing.T, s *Server, raw string) (map[string]any, error) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
	if err != nil {
		return nil, err
	}
	set := fetchJWKS(t, s)
	keys := set.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) != 1 {
		return nil, errNoKey
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	err = json.Unmarshal(payload, &claims)
	return claims, err
}

var errNoKey = errors.New("no key with that kid in the JWKS")

func mustVerify(t *testing.T, s *Server, raw string) map[string]any {
	t.Helper()
	claims, err := verify(t, s, raw)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	return claims
}

// decodeJWT splits raw without verifying it.
func decodeJWT(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT has %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// idToken runs the flow and returns the ID token, decoded but unverified.
func (f *flow) idToken(t *testing.T) (raw string, header, claims map[string]any) {
	t.Helper()
	raw, _ = f.tokens(t)["id_token"].(string)
	header, claims = decodeJWT(t, raw)
	return raw, header, claims
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v (%T), want %v (%T)", what, got, got, want, want)
	}
}

// refresh sends a refresh grant for the default client.
func refresh(t *testing.T, s *Server, rt string) (int, map[string]any) {
	t.Helper()
	status, _, body := postJSON(t, s, "/token", url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {rt},
	}, basicAuth(DefaultClientID, DefaultClientSecret))
	return status, body
}

// bearer sets an access token as the Authorization header.
func bearer(tok any) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok.(string)) }
}
