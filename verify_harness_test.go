package oidcmw

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// jwksOP is a provider reduced to what verification reads: discovery and
// a JWKS whose keys, Cache-Control and status a test sets, over real HTTP.
// Tokens are signed by the test (signJWT), so that any header or payload
// can be tried on the path the callback, refresh and back-channel logout
// take (verifyIDToken, verifyLogoutToken, openJARM).
type jwksOP struct {
	*httptest.Server
	fetches atomic.Int32

	mu           sync.Mutex
	keys         []json.RawMessage
	cacheControl string
	status       int
	algs         []string
	issuer       string // discovery's issuer; default the server's URL
	base         string // the endpoints' base URL; default the server's URL
	idToken      string // the token endpoint's id_token
}

func newJWKSOP(t testing.TB) *jwksOP {
	t.Helper()
	op := &jwksOP{status: http.StatusOK, algs: asymmetricAlgs}
	mux := http.NewServeMux()
	// Discovery under any issuer path (a tenant template's, for one).
	mux.HandleFunc("GET /{path...}", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
			http.NotFound(w, r)
			return
		}
		op.mu.Lock()
		algs, issuer, base := op.algs, op.issuer, op.base
		op.mu.Unlock()
		if issuer == "" {
			issuer = op.URL
		}
		if base == "" {
			base = op.URL
		}
		writeTestJSON(w, map[string]any{
			"issuer":                                issuer,
			"authorization_endpoint":                base + "/authorize",
			"token_endpoint":                        base + "/token",
			"jwks_uri":                              base + "/jwks",
			"id_token_signing_alg_values_supported": algs,
			"authorization_signing_alg_values_supported": algs,
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		op.fetches.Add(1)
		op.mu.Lock()
		defer op.mu.Unlock()
		if op.cacheControl != "" {
			w.Header().Set("Cache-Control", op.cacheControl)
		}
		if op.status != http.StatusOK {
			http.Error(w, "down", op.status)
			return
		}
		writeTestJSON(w, map[string]any{"keys": op.keys})
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		op.mu.Lock()
		defer op.mu.Unlock()
		writeTestJSON(w, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600,
			"id_token": op.idToken})
	})
	op.Server = httptest.NewServer(mux)
	t.Cleanup(op.Close)
	return op
}

func writeTestJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// setKeys makes the JWKS hold keys: jose.JSONWebKey values (public keys
// with their kid, alg and use) or raw JSON for keys go-jose cannot write.
func (op *jwksOP) setKeys(t testing.TB, keys ...any) {
	t.Helper()
	var raws []json.RawMessage
	for _, k := range keys {
		switch k := k.(type) {
		case json.RawMessage:
			raws = append(raws, k)
		case jose.JSONWebKey:
			b, err := json.Marshal(k)
			if err != nil {
				t.Fatal(err)
			}
			raws = append(raws, b)
		default:
			t.Fatalf("setKeys: %T", k)
		}
	}
	op.mu.Lock()
	op.keys = raws
	op.mu.Unlock()
}

func (op *jwksOP) setStatus(code int) {
	op.mu.Lock()
	op.status = code
	op.mu.Unlock()
}

func (op *jwksOP) setCacheControl(v string) {
	op.mu.Lock()
	op.cacheControl = v
	op.mu.Unlock()
}

func (op *jwksOP) setIssuer(iss string) {
	op.mu.Lock()
	op.issuer = iss
	op.mu.Unlock()
}

func (op *jwksOP) setBase(base string) {
	op.mu.Lock()
	op.base = base
	op.mu.Unlock()
}

func (op *jwksOP) setIDToken(raw string) {
	op.mu.Lock()
	op.idToken = raw
	op.mu.Unlock()
}

func (op *jwksOP) setAlgs(algs ...string) {
	op.mu.Lock()
	op.algs = algs
	op.mu.Unlock()
}

// testClock is a clock a test moves.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testClientID = "client"

// verifyEnv is a middleware for op with a test clock and a captured log.
type verifyEnv struct {
	m     *Middleware
	op    *jwksOP
	clock *testClock
	log   *syncBuffer
}

func newVerifyEnv(t *testing.T, op *jwksOP) *verifyEnv {
	t.Helper()
	e := &verifyEnv{op: op, clock: newTestClock(), log: &syncBuffer{}}
	m, err := New(Options{Issuer: op.URL, ClientID: testClientID, RedirectURL: "http://127.0.0.1/cb",
		Now: e.clock.Now, Logger: slog.New(slog.NewTextHandler(e.log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	return e
}

func (e *verifyEnv) provider(t *testing.T) *provider {
	t.Helper()
	p, err := e.m.disc.get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// idToken verifies raw as the callback does, with nonce "n".
func (e *verifyEnv) idToken(t *testing.T, raw string) (*idClaims, error) {
	t.Helper()
	return e.m.verify.idToken(context.Background(), e.provider(t), raw, Checks{Nonce: "n"}, false)
}

// claims are the claims of a valid ID token at the env's clock, as JSON.
func (e *verifyEnv) claims() string {
	now := e.clock.Now().Unix()
	return fmt.Sprintf(`{"iss":%q,"aud":%q,"sub":"alice","iat":%d,"exp":%d,"nonce":"n"}`, e.op.URL, testClientID, now, now+3600)
}

// signJWT signs payload as a compact JWS; kid may be empty. extra adds
// header parameters.
func signTestJWT(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, kid, payload string, extra map[jose.HeaderKey]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	for k, v := range extra {
		opts = opts.WithHeader(k, v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// pub is the JWK of key's public half.
func pub(key crypto.Signer, kid string) jose.JSONWebKey {
	return jose.JSONWebKey{Key: key.Public(), KeyID: kid}
}

type testKey struct {
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

// testKeys are keys for every accepted algorithm, generated once per
// process.
var testKeys = sync.OnceValue(func() []testKey {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	ec := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return []testKey{
		{jose.RS256, rsaKey}, {jose.RS384, rsaKey}, {jose.RS512, rsaKey},
		{jose.PS256, rsaKey}, {jose.PS384, rsaKey}, {jose.PS512, rsaKey},
		{jose.ES256, ec(elliptic.P256())}, {jose.ES384, ec(elliptic.P384())}, {jose.ES512, ec(elliptic.P521())},
		{jose.EdDSA, edKey},
	}
})

// rsaKeys are RSA keys distinct from each other, generated once per
// process.
var rsaKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})
