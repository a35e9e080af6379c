package oidctest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// What a relying party does with go-jose for the JOSE-based extensions:
// client keys, client assertions, request objects and DPoP proofs.

// clientKey is a relying party's signing key.
type clientKey struct {
	alg  jose.SignatureAlgorithm
	kid  string
	priv crypto.Signer
}

var clientKeys sync.Map // "alg n" -> *clientKey

// testClientKey returns the n-th client key for alg, generated once per
// test binary.
func testClientKey(t *testing.T, alg jose.SignatureAlgorithm, n int) *clientKey {
	t.Helper()
	id := string(alg) + " " + string(rune('0'+n))
	if k, ok := clientKeys.Load(id); ok {
		return k.(*clientKey)
	}
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.PS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("no key type for %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	k := &clientKey{alg: alg, kid: "client-" + strings.ToLower(string(alg)) + "-" + string(rune('0'+n)), priv: priv}
	v, _ := clientKeys.LoadOrStore(id, k)
	return v.(*clientKey)
}

// public returns the public JWK with kid.
func (k *clientKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

func (k *clientKey) jwks() *jose.JSONWebKeySet {
	return &jose.JSONWebKeySet{Keys: []jose.JSONWebKey{k.public()}}
}

// thumbprint is the RFC 7638 thumbprint of k's public key, base64url.
func (k *clientKey) thumbprint(t *testing.T) string {
	t.Helper()
	pub := k.public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// sign returns claims as a compact JWS with alg and key; opts may be nil.
func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, opts *jose.SignerOptions, claims map[string]any) string {
	t.Helper()
	if opts == nil {
		opts = &jose.SignerOptions{}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// sign signs claims with k, kid in the header.
func (k *clientKey) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	return sign(t, k.alg, k.priv, (&jose.SignerOptions{}).WithHeader("kid", k.kid), claims)
}

// signer signs a client's JWTs: with a key, or HS256 with a secret.
type signer func(t *testing.T, claims map[string]any) string

func hs256(secret string) signer {
	return func(t *testing.T, claims map[string]any) string {
		t.Helper()
		return sign(t, jose.HS256, []byte(secret), nil, claims)
	}
}

// assertionClaims are the claims of a valid client assertion for s.
func assertionClaims(s *Server, clientID string, now time.Time) map[string]any {
	return map[string]any{
		"iss": clientID,
		"sub": clientID,
		"aud": s.Issuer(),
		"jti": rand.Text(),
		"iat": now.Unix(),
		"exp": now.Add(time.Minute).Unix(),
	}
}

// withAssertion adds a client assertion to form.
func withAssertion(form url.Values, assertion string) url.Values {
	form.Set("client_assertion_type", jwtBearer)
	form.Set("client_assertion", assertion)
	return form
}

// codeForm is the token request that redeems code for f.
func (f *flow) codeForm(code string) url.Values {
	return url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {f.redirectURI},
		"code_verifier": {f.verifier},
	}
}

// requestObjectClaims are the claims of a valid request object with the
// parameters of f.
func (f *flow) requestObjectClaims(now time.Time) map[string]any {
	c := map[string]any{
		"iss": f.clientID,
		"aud": f.s.Issuer(),
		"exp": now.Add(5 * time.Minute).Unix(),
		"iat": now.Unix(),
		"jti": rand.Text(),
	}
	for k, v := range f.params() {
		c[k] = v[0]
	}
	return c
}

// dpopProof is a valid DPoP proof of k for a request; accessToken, if
// set, is bound with ath. edit may change the claims.
func dpopProof(t *testing.T, k *clientKey, method, target, nonce, accessToken string, now time.Time, edit func(map[string]any)) string {
	t.Helper()
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": target, "iat": now.Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if edit != nil {
		edit(claims)
	}
	return sign(t, k.alg, k.priv, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"), claims)
}

// withDPoP sets a DPoP header, after auth (may be nil).
func withDPoP(proof string, auth func(*http.Request)) func(*http.Request) {
	return func(r *http.Request) {
		if auth != nil {
			auth(r)
		}
		r.Header.Set("DPoP", proof)
	}
}

// authorizeQuery sends an authorization request with query q and returns
// the response, not following redirects.
func authorizeQuery(t *testing.T, s *Server, q url.Values) (*http.Response, []byte) {
	t.Helper()
	return get(t, s, "/authorize?"+q.Encode(), nil)
}

// authorizeRedirect sends an authorization request with query q and
// returns the parameters of the redirect, failing without one.
func authorizeRedirect(t *testing.T, s *Server, q url.Values) url.Values {
	t.Helper()
	resp, body := authorizeQuery(t, s, q)
	return redirectQuery(t, resp, body)
}

// redirectQuery returns the query of a 302's Location, failing otherwise.
func redirectQuery(t *testing.T, resp *http.Response, body []byte) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302; body %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// wantPage checks for a 400 HTML page without a redirect.
func wantPage(t *testing.T, resp *http.Response) {
	t.Helper()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("got %d %q, Location %q; want a 400 page", resp.StatusCode,
			resp.Header.Get("Content-Type"), resp.Header.Get("Location"))
	}
}
