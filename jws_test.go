package oidcmw

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// joseSign signs {"sub":"x"} with go-jose, the reference the verifier is
// held to; kid may be empty.
func joseSign(t *testing.T, alg jose.SignatureAlgorithm, key crypto.Signer, kid string, extra map[jose.HeaderKey]any) string {
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
	obj, err := s.Sign([]byte(`{"sub":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

type testKey struct {
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func testKeys(t *testing.T) []testKey {
	t.Helper()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec := func(c elliptic.Curve) *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return []testKey{
		{jose.RS256, rsaKey}, {jose.RS384, rsaKey}, {jose.RS512, rsaKey},
		{jose.PS256, rsaKey}, {jose.PS384, rsaKey}, {jose.PS512, rsaKey},
		{jose.ES256, ec(elliptic.P256())}, {jose.ES384, ec(elliptic.P384())}, {jose.ES512, ec(elliptic.P521())},
		{jose.EdDSA, edKey},
	}
}

func allAlgs() []jose.SignatureAlgorithm {
	var out []jose.SignatureAlgorithm
	for _, a := range asymmetricAlgs {
		out = append(out, jose.SignatureAlgorithm(a))
	}
	return out
}

// TestVerifyJWS: every accepted algorithm verifies what go-jose signs, and
// refuses the token once its payload, signature or alg is changed, or when
// the key of another algorithm or curve is the only one that fits.
func TestVerifyJWS(t *testing.T) {
	keys := testKeys(t)
	for _, tk := range keys {
		t.Run(string(tk.alg), func(t *testing.T) {
			ks := newKeySet("", nil, time.Now, defaultLimits)
			ks.loaded = true
			ks.keys = []jose.JSONWebKey{{Key: tk.key.Public(), KeyID: "k"}}
			verify := func(raw string) error {
				tok, err := parseJWS(raw, allAlgs())
				if err != nil {
					return err
				}
				return ks.verify(tok)
			}
			raw := joseSign(t, tk.alg, tk.key, "k", nil)
			if err := verify(raw); err != nil {
				t.Fatalf("a token go-jose signed is refused: %v", err)
			}
			head, rest, _ := strings.Cut(raw, ".")
			body, sig, _ := strings.Cut(rest, ".")
			sigBytes, _ := base64.RawURLEncoding.DecodeString(sig)
			flipped := append([]byte(nil), sigBytes...)
			flipped[len(flipped)/2] ^= 1
			otherBody := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"y"}`))
			for name, bad := range map[string]string{
				"payload changed":     head + "." + otherBody + "." + sig,
				"signature flipped":   head + "." + body + "." + base64.RawURLEncoding.EncodeToString(flipped),
				"signature truncated": head + "." + body + "." + base64.RawURLEncoding.EncodeToString(sigBytes[:len(sigBytes)-1]),
				"signature extended":  head + "." + body + "." + base64.RawURLEncoding.EncodeToString(append(sigBytes, 0)),
				"no signature":        head + "." + body + ".",
			} {
				if err := verify(bad); err == nil {
					t.Errorf("%s: accepted", name)
				}
			}
			// The same signature under another alg of the key's family,
			// and a key that does not fit the alg, never verify.
			for _, other := range keys {
				if other.alg == tk.alg {
					continue
				}
				h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + string(other.alg) + `","kid":"k"}`))
				if err := verify(h + "." + body + "." + sig); err == nil {
					t.Errorf("signature accepted under alg %s", other.alg)
				}
				ks.keys = []jose.JSONWebKey{{Key: other.key.Public(), KeyID: "k"}}
				if other.key != tk.key {
					if err := verify(raw); err == nil {
						t.Errorf("verified with the %s key", other.alg)
					}
				}
				ks.keys = []jose.JSONWebKey{{Key: tk.key.Public(), KeyID: "k"}}
			}
		})
	}
}

// TestParseJWS: what parseJWS refuses before any key is looked at.
func TestParseJWS(t *testing.T) {
	key := testKeys(t)[0]
	good := joseSign(t, key.alg, key.key, "k", nil)
	if _, err := parseJWS(good, []jose.SignatureAlgorithm{jose.RS256}); err != nil {
		t.Fatalf("good token: %v", err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	_, rest, _ := strings.Cut(good, ".")
	for name, raw := range map[string]string{
		"alg not allowed": good, // only ES256 is allowed below
		"alg none":        enc(`{"alg":"none"}`) + "." + enc(`{}`) + ".",
		"alg HS256":       enc(`{"alg":"HS256"}`) + "." + rest,
		"crit":            joseSign(t, jose.ES256, testKeys(t)[6].key, "k", map[jose.HeaderKey]any{"crit": []string{"exp"}, "exp": 1}),
		"two parts":       enc(`{"alg":"ES256"}`) + "." + enc(`{}`),
		"four parts":      enc(`{"alg":"ES256"}`) + "." + enc(`{}`) + ".AA.AA",
		"header not JSON": enc(`{"alg":`) + "." + rest,
		"header padded":   enc(`{"alg":"ES256"}`) + "=." + rest,
		"payload not b64": enc(`{"alg":"ES256"}`) + ".!!." + "AA",
		"long header":     enc(`{"alg":"ES256","x":"`+strings.Repeat("a", maxJWSHeader)+`"}`) + "." + rest,
	} {
		if _, err := parseJWS(raw, []jose.SignatureAlgorithm{jose.ES256}); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestVerifyJWSNonCanonicalEC: an ES256 signature with a zero byte
// between r and s reads as the same numbers, and is refused.
func TestVerifyJWSNonCanonicalEC(t *testing.T) {
	tk := testKeys(t)[6]
	ks := newKeySet("", nil, time.Now, defaultLimits)
	ks.loaded = true
	ks.keys = []jose.JSONWebKey{{Key: tk.key.Public(), KeyID: "k"}}
	raw := joseSign(t, tk.alg, tk.key, "k", nil)
	i := strings.LastIndexByte(raw, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
	padded := append(append(append([]byte(nil), sig[:32]...), 0), sig[32:]...)
	tok, err := parseJWS(raw[:i+1]+base64.RawURLEncoding.EncodeToString(padded), allAlgs())
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.verify(tok); err == nil {
		t.Fatal("r || 0x00 || s accepted")
	}
}
