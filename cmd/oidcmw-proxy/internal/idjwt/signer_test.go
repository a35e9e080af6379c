package idjwt_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/oidcmw/oidcmw/cmd/oidcmw-proxy/internal/idjwt"
)

const (
	issuer   = "https://proxy.example.com"
	audience = "upstream"
)

// t0 is the signing time of the tests, a whole second.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// opaque hides a key's concrete type, as a hardware or KMS key would, so
// the Signer must sign through crypto.Signer.Sign.
type opaque struct{ crypto.Signer }

// keyCase is a key NewSigner accepts and the algorithm it must pick.
type keyCase struct {
	name string
	key  func(t *testing.T) crypto.Signer
	alg  string
}

var keyCases = []keyCase{
	{"default", func(*testing.T) crypto.Signer { return nil }, "ES256"},
	{"ecdsa P-256", func(t *testing.T) crypto.Signer { return ecKey(t, elliptic.P256()) }, "ES256"},
	{"ecdsa P-384", func(t *testing.T) crypto.Signer { return ecKey(t, elliptic.P384()) }, "ES384"},
	{"ecdsa P-521", func(t *testing.T) crypto.Signer { return ecKey(t, elliptic.P521()) }, "ES512"},
	{"rsa 2048", func(t *testing.T) crypto.Signer { return rsaKey(t, 2048) }, "RS256"},
	{"ed25519", func(t *testing.T) crypto.Signer { return edKey(t) }, "EdDSA"},
	{"opaque ecdsa", func(t *testing.T) crypto.Signer { return opaque{ecKey(t, elliptic.P256())} }, "ES256"},
	{"opaque rsa", func(t *testing.T) crypto.Signer { return opaque{rsaKey(t, 2048)} }, "RS256"},
	{"opaque ed25519", func(t *testing.T) crypto.Signer { return opaque{edKey(t)} }, "EdDSA"},
}

func ecKey(t *testing.T, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rsaKey(t *testing.T, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func edKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newSigner returns a Signer and the URL of its key set, served by an
// httptest server.
func newSigner(t *testing.T, ttl time.Duration, key crypto.Signer) (*idjwt.Signer, string) {
	t.Helper()
	s, err := idjwt.NewSigner(issuer, audience, ttl, key)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	srv := httptest.NewServer(s.JWKS())
	t.Cleanup(srv.Close)
	return s, srv.URL
}

// verifier returns a go-oidc verifier for the key set at jwksURL that
// believes the time is now.
func verifier(jwksURL, alg, aud string, now time.Time) *oidc.IDTokenVerifier {
	keys := oidc.NewRemoteKeySet(context.Background(), jwksURL)
	return oidc.NewVerifier(issuer, keys, &oidc.Config{
		ClientID:             aud,
		SupportedSigningAlgs: []string{alg},
		Now:                  func() time.Time { return now },
	})
}

// tamper replaces the token's payload by its claims with sub changed,
// keeping header and signature.
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(payload, &m); err != nil {
		t.Fatal(err)
	}
	m["sub"] = "admin"
	payload, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

type extra struct {
	Email  string   `json:"email"`
	Groups []string `json:"groups"`
}

func TestGoOIDCVerifies(t *testing.T) {
	for _, kc := range keyCases {
		t.Run(kc.name, func(t *testing.T) {
			s, jwksURL := newSigner(t, 0, kc.key(t))
			if got := s.Algorithm(); got != kc.alg {
				t.Fatalf("Algorithm() = %q, want %q", got, kc.alg)
			}
			tok, err := s.Sign("alice", "alice@example.com", []string{"admins", "dev"}, t0)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()

			id, err := verifier(jwksURL, kc.alg, audience, t0.Add(time.Second)).Verify(ctx, tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if id.Issuer != issuer || id.Subject != "alice" || !slices.Equal(id.Audience, []string{audience}) {
				t.Errorf("iss %q, sub %q, aud %q", id.Issuer, id.Subject, id.Audience)
			}
			if !id.IssuedAt.Equal(t0) || !id.Expiry.Equal(t0.Add(idjwt.DefaultTTL)) {
				t.Errorf("iat %v, exp %v; want %v, %v", id.IssuedAt, id.Expiry, t0, t0.Add(idjwt.DefaultTTL))
			}
			var e extra
			if err := id.Claims(&e); err != nil {
				t.Fatal(err)
			}
			if e.Email != "alice@example.com" || !slices.Equal(e.Groups, []string{"admins", "dev"}) {
				t.Errorf("email %q, groups %q", e.Email, e.Groups)
			}

			var expired *oidc.TokenExpiredError
			if _, err := verifier(jwksURL, kc.alg, audience, t0.Add(idjwt.DefaultTTL+time.Second)).Verify(ctx, tok); !errors.As(err, &expired) {
				t.Errorf("after exp: %v, want a TokenExpiredError", err)
			}
			if _, err := verifier(jwksURL, kc.alg, "other-upstream", t0).Verify(ctx, tok); err == nil {
				t.Error("wrong audience: accepted")
			}
			other := oidc.NewVerifier("https://other.example.com", oidc.NewRemoteKeySet(ctx, jwksURL),
				&oidc.Config{ClientID: audience, SupportedSigningAlgs: []string{kc.alg}, Now: func() time.Time { return t0 }})
			if _, err := other.Verify(ctx, tok); err == nil {
				t.Error("wrong issuer: accepted")
			}
			if _, err := verifier(jwksURL, kc.alg, audience, t0).Verify(ctx, tamper(t, tok)); err == nil {
				t.Error("tampered payload: accepted")
			}
			wrongAlg := "RS256"
			if kc.alg == "RS256" {
				wrongAlg = "ES256"
			}
			if _, err := verifier(jwksURL, wrongAlg, audience, t0).Verify(ctx, tok); err == nil {
				t.Errorf("verifier pinned to %s: accepted", wrongAlg)
			}
		})
	}
}

// TestOtherKeyRefused signs with another key under the same claims: the
// served key set must not verify it.
func TestOtherKeyRefused(t *testing.T) {
	_, jwksURL := newSigner(t, 0, nil)
	impostor, _ := newSigner(t, 0, nil)
	tok, err := impostor.Sign("alice", "", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(jwksURL, "ES256", audience, t0).Verify(context.Background(), tok); err == nil {
		t.Error("token of another key: accepted")
	}
}

// fetchKeySet GETs and decodes a key set.
func fetchKeySet(t *testing.T, url string) jose.JSONWebKeySet {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

func TestGoJoseVerifies(t *testing.T) {
	for _, kc := range keyCases {
		t.Run(kc.name, func(t *testing.T) {
			const ttl = 90 * time.Second
			s, jwksURL := newSigner(t, ttl, kc.key(t))
			tok, err := s.Sign("bob", "", nil, t0.Add(500*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			set := fetchKeySet(t, jwksURL)
			if len(set.Keys) != 1 {
				t.Fatalf("%d keys, want 1", len(set.Keys))
			}
			key := set.Keys[0]

			parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(kc.alg)})
			if err != nil {
				t.Fatal(err)
			}
			h := parsed.Headers[0]
			if h.Algorithm != kc.alg || h.KeyID != key.KeyID || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Errorf("header alg %q, kid %q, typ %v; want %q, %q, JWT", h.Algorithm, h.KeyID, h.ExtraHeaders[jose.HeaderType], kc.alg, key.KeyID)
			}
			if h.JSONWebKey != nil {
				t.Error("header embeds a jwk")
			}
			if ks := set.Key(h.KeyID); len(ks) != 1 {
				t.Fatalf("kid %q: %d keys in the set", h.KeyID, len(ks))
			}

			var c jwt.Claims
			var raw map[string]json.RawMessage
			if err := parsed.Claims(key.Key, &c, &raw); err != nil {
				t.Fatalf("Claims: %v", err)
			}
			exp := jwt.Expected{Issuer: issuer, Subject: "bob", AnyAudience: jwt.Audience{audience}}
			if err := c.ValidateWithLeeway(exp.WithTime(t0.Add(ttl)), 0); err != nil {
				t.Errorf("at exp: %v", err)
			}
			if err := c.ValidateWithLeeway(exp.WithTime(t0.Add(ttl+time.Second)), 0); !errors.Is(err, jwt.ErrExpired) {
				t.Errorf("after exp: %v, want ErrExpired", err)
			}
			if err := c.ValidateWithLeeway(exp.WithTime(t0.Add(-time.Second)), 0); !errors.Is(err, jwt.ErrNotValidYet) {
				t.Errorf("before nbf: %v, want ErrNotValidYet", err)
			}
			if err := c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{"other"}, Time: t0}, 0); !errors.Is(err, jwt.ErrInvalidAudience) {
				t.Errorf("wrong audience: %v, want ErrInvalidAudience", err)
			}
			if *c.IssuedAt != *c.NotBefore || !c.IssuedAt.Time().Equal(t0) {
				t.Errorf("iat %v, nbf %v, want both %v", c.IssuedAt.Time(), c.NotBefore.Time(), t0)
			}
			if c.ID == "" {
				t.Error("no jti")
			}
			if string(raw["aud"]) != `"`+audience+`"` {
				t.Errorf("aud = %s, want a single string", raw["aud"])
			}
			for _, name := range []string{"email", "groups"} {
				if _, ok := raw[name]; ok {
					t.Errorf("claim %q present though empty", name)
				}
			}
			if len(raw) != 7 {
				t.Errorf("claims %v, want iss, sub, aud, iat, nbf, exp, jti", raw)
			}

			tampered, err := jwt.ParseSigned(tamper(t, tok), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(kc.alg)})
			if err != nil {
				t.Fatal(err)
			}
			if err := tampered.Claims(key.Key, &c); err == nil {
				t.Error("tampered payload: signature verified")
			}
		})
	}
}

func TestSign(t *testing.T) {
	s, _ := newSigner(t, 0, nil)
	if _, err := s.Sign("", "a@example.com", nil, t0); err == nil {
		t.Error("empty subject: no error")
	}
	tok, err := s.Sign("carol", "", []string{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var c jwt.Claims
	var raw map[string]any
	if err := parsed.UnsafeClaimsWithoutVerification(&c, &raw); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(c.IssuedAt.Time()); d < -time.Second || d > time.Minute {
		t.Errorf("zero now: iat %v is not about now", c.IssuedAt.Time())
	}
	if _, ok := raw["groups"]; ok {
		t.Error("empty groups present")
	}
}

// TestSignConcurrent signs from several goroutines (run with -race) and
// checks that every jti differs.
func TestSignConcurrent(t *testing.T) {
	s, _ := newSigner(t, 0, nil)
	var (
		mu  sync.Mutex
		ids = map[string]bool{}
		wg  sync.WaitGroup
	)
	for range 8 {
		wg.Go(func() {
			for range 25 {
				tok, err := s.Sign("dave", "", nil, t0)
				if err != nil {
					t.Error(err)
					return
				}
				parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
				if err != nil {
					t.Error(err)
					return
				}
				var c jwt.Claims
				if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if ids[c.ID] {
					t.Errorf("jti %q issued twice", c.ID)
				}
				ids[c.ID] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func TestTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl, want time.Duration
	}{
		{0, idjwt.DefaultTTL},
		{time.Second, time.Second},
		{idjwt.MaxTTL, idjwt.MaxTTL},
	} {
		s, _ := newSigner(t, tc.ttl, nil)
		tok, err := s.Sign("erin", "", nil, t0)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var c jwt.Claims
		if err := parsed.UnsafeClaimsWithoutVerification(&c); err != nil {
			t.Fatal(err)
		}
		if got := c.Expiry.Time().Sub(c.IssuedAt.Time()); got != tc.want {
			t.Errorf("ttl %v: exp - iat = %v, want %v", tc.ttl, got, tc.want)
		}
	}
}

// p224 is an ECDSA key on a curve JWS has no algorithm for.
func p224(t *testing.T) crypto.Signer { return ecKey(t, elliptic.P224()) }

// badPublic is a crypto.Signer whose public key is of no supported type.
type badPublic struct{}

func (badPublic) Public() crypto.PublicKey { return []byte("not a key") }
func (badPublic) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("unreachable")
}

func TestNewSignerErrors(t *testing.T) {
	for _, tc := range []struct {
		name, iss, aud string
		ttl            time.Duration
		key            func(t *testing.T) crypto.Signer
	}{
		{"no issuer", "", audience, 0, nil},
		{"no audience", issuer, "", 0, nil},
		{"negative ttl", issuer, audience, -time.Second, nil},
		{"ttl under a second", issuer, audience, 500 * time.Millisecond, nil},
		{"ttl over the maximum", issuer, audience, idjwt.MaxTTL + time.Second, nil},
		{"rsa 1024", issuer, audience, 0, func(t *testing.T) crypto.Signer { return rsaKey(t, 1024) }},
		{"ecdsa P-224", issuer, audience, 0, p224},
		{"unsupported public key", issuer, audience, 0, func(*testing.T) crypto.Signer { return badPublic{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var key crypto.Signer
			if tc.key != nil {
				key = tc.key(t)
			}
			s, err := idjwt.NewSigner(tc.iss, tc.aud, tc.ttl, key)
			if err == nil {
				t.Fatalf("NewSigner = %v, want an error", s)
			}
			if !strings.HasPrefix(err.Error(), "idjwt: ") {
				t.Errorf("error %q lacks the idjwt: prefix", err)
			}
		})
	}
}
