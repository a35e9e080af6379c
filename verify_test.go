package oidcmw

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestVerifyAlgorithms: every accepted algorithm verifies what go-jose
// signs, and the token is refused once its payload, signature or alg is
// changed, or when the key of another algorithm or curve is the only one
// in the JWKS.
func TestVerifyAlgorithms(t *testing.T) {
	keys := testKeys()
	for _, tk := range keys {
		t.Run(string(tk.alg), func(t *testing.T) {
			e := newVerifyEnv(t, newJWKSOP(t))
			e.op.setKeys(t, pub(tk.key, "k"))
			raw := signTestJWT(t, tk.alg, tk.key, "k", e.claims(), nil)
			if _, err := e.idToken(t, raw); err != nil {
				t.Fatalf("a token go-jose signed is refused: %v", err)
			}
			head, rest, _ := strings.Cut(raw, ".")
			body, sig, _ := strings.Cut(rest, ".")
			sigBytes, _ := base64.RawURLEncoding.DecodeString(sig)
			flipped := append([]byte(nil), sigBytes...)
			flipped[len(flipped)/2] ^= 1
			otherBody := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(e.claims(), "alice", "mallory", 1)))
			for name, bad := range map[string]string{
				"payload changed":     head + "." + otherBody + "." + sig,
				"signature flipped":   head + "." + body + "." + base64.RawURLEncoding.EncodeToString(flipped),
				"signature truncated": head + "." + body + "." + base64.RawURLEncoding.EncodeToString(sigBytes[:len(sigBytes)-1]),
				"signature extended":  head + "." + body + "." + base64.RawURLEncoding.EncodeToString(append(sigBytes, 0)),
				"no signature":        head + "." + body + ".",
			} {
				if _, err := e.idToken(t, bad); !errors.Is(err, ErrInvalidIDToken) {
					t.Errorf("%s: %v, want ErrInvalidIDToken", name, err)
				}
			}
			// The same signature under another alg, and a key that does
			// not fit the alg, never verify.
			for _, other := range keys {
				if other.alg == tk.alg {
					continue
				}
				h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + string(other.alg) + `","kid":"k"}`))
				if _, err := e.idToken(t, h+"."+body+"."+sig); err == nil {
					t.Errorf("signature accepted under alg %s", other.alg)
				}
			}
			for _, other := range keys {
				if other.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(tk.key.Public()) {
					continue
				}
				o := newVerifyEnv(t, newJWKSOP(t))
				o.op.setKeys(t, pub(other.key, "k"))
				if _, err := o.idToken(t, signTestJWT(t, tk.alg, tk.key, "k", o.claims(), nil)); err == nil {
					t.Errorf("verified with the %s key", other.alg)
				}
			}
		})
	}
}

// TestVerifyRefusesMalformed: what is refused before any key is tried,
// and never as a provider outage.
func TestVerifyRefusesMalformed(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	e.op.setAlgs("ES256")
	es := testKeys()[6]
	rs := testKeys()[0]
	e.op.setKeys(t, pub(es.key, "k"), pub(rs.key, "r"))
	good := signTestJWT(t, es.alg, es.key, "k", e.claims(), nil)
	if _, err := e.idToken(t, good); err != nil {
		t.Fatalf("good token: %v", err)
	}
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	_, rest, _ := strings.Cut(good, ".")
	for name, raw := range map[string]string{
		"alg not allowed": signTestJWT(t, rs.alg, rs.key, "r", e.claims(), nil), // only ES256 is advertised
		"alg none":        enc(`{"alg":"none"}`) + "." + enc(e.claims()) + ".",
		"alg HS256":       enc(`{"alg":"HS256","kid":"k"}`) + "." + rest,
		"crit":            signTestJWT(t, es.alg, es.key, "k", e.claims(), map[jose.HeaderKey]any{"crit": []string{"exp"}, "exp": 1}),
		"two parts":       enc(`{"alg":"ES256"}`) + "." + enc(e.claims()),
		"four parts":      enc(`{"alg":"ES256"}`) + "." + enc(e.claims()) + ".AA.AA",
		"header not JSON": enc(`{"alg":`) + "." + rest,
		"header padded":   enc(`{"alg":"ES256","kid":"k"}`) + "=." + rest,
		"payload not b64": enc(`{"alg":"ES256","kid":"k"}`) + ".!!." + "AA",
		"JSON serialization": `{"payload":"` + enc(e.claims()) + `","protected":"` + enc(`{"alg":"ES256","kid":"k"}`) +
			`","signature":"AA"}`,
	} {
		if _, err := e.idToken(t, raw); !errors.Is(err, ErrInvalidIDToken) {
			t.Errorf("%s: %v, want ErrInvalidIDToken", name, err)
		}
	}
}

// TestVerifyNonCanonicalEC: an ES256 signature with a zero byte between r
// and s reads as the same numbers, and is refused.
func TestVerifyNonCanonicalEC(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	tk := testKeys()[6]
	e.op.setKeys(t, pub(tk.key, "k"))
	raw := signTestJWT(t, tk.alg, tk.key, "k", e.claims(), nil)
	i := strings.LastIndexByte(raw, '.')
	sig, _ := base64.RawURLEncoding.DecodeString(raw[i+1:])
	padded := append(append(append([]byte(nil), sig[:32]...), 0), sig[32:]...)
	if _, err := e.idToken(t, raw[:i+1]+base64.RawURLEncoding.EncodeToString(padded)); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("r || 0x00 || s: %v", err)
	}
}

// TestKeySelection: which key of the JWKS may verify a token.
func TestKeySelection(t *testing.T) {
	k1, k2 := rsaKeys()[0], rsaKeys()[1]
	ec := testKeys()[6].key
	cases := []struct {
		name   string
		jwks   []any
		signer *rsaKeyKid
		ok     bool
	}{
		{"no kid, one key", []any{pub(k1, "a")}, &rsaKeyKid{k1, ""}, true},
		// Refused, as openid-client does (the conformance suite allows
		// refusing or trying each).
		{"no kid, two keys fit", []any{pub(k1, "a"), pub(k2, "b")}, &rsaKeyKid{k1, ""}, false},
		{"kid b", []any{pub(k1, "a"), pub(k2, "b")}, &rsaKeyKid{k2, "b"}, true},
		{"kid a, key b's signature", []any{pub(k1, "a"), pub(k2, "b")}, &rsaKeyKid{k2, "a"}, false},
		{"no kid, one RSA and one EC key", []any{pub(k1, "a"), pub(ec, "e")}, &rsaKeyKid{k1, ""}, true},
		{"the JWK's alg is another", []any{jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "a", Algorithm: "PS256"}}, &rsaKeyKid{k1, "a"}, false},
		{"use enc", []any{jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "a", Use: "enc"}}, &rsaKeyKid{k1, "a"}, false},
		{"use sig", []any{jose.JSONWebKey{Key: &k1.PublicKey, KeyID: "a", Use: "sig"}}, &rsaKeyKid{k1, "a"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newVerifyEnv(t, newJWKSOP(t))
			e.op.setKeys(t, tc.jwks...)
			_, err := e.idToken(t, signTestJWT(t, jose.RS256, tc.signer.key, tc.signer.kid, e.claims(), nil))
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidIDToken) {
				t.Fatalf("%v, want ErrInvalidIDToken", err)
			}
		})
	}
}

type rsaKeyKid struct {
	key crypto.Signer
	kid string
}

// TestUnusableJWKSkipped: a JWK that cannot be used (RFC 7517 §5) is
// skipped; the usable key next to it still verifies.
func TestUnusableJWKSkipped(t *testing.T) {
	k := rsaKeys()[0]
	big := make([]byte, 4097/8+1) // a modulus over jose.MaxRSAModulusBits
	big[0], big[len(big)-1] = 0xff, 0x01
	for name, unusable := range map[string]string{
		"X25519 for encryption": `{"kty":"OKP","crv":"X25519","use":"enc","kid":"x","x":"3p7bfXt9wbTTW2HC7OQ1Nz-DQ8hbeGdNrfx-FG-IK08"}`,
		"unknown kty":           `{"kty":"PQC","kid":"q","pub":"AAAA"}`,
		"secp256k1":             `{"kty":"EC","crv":"secp256k1","kid":"s","x":"gsVX6Ft4NiF7CFuxxsoiP-CUmEu3ssM9CGr6x-Ou2nA","y":"eIE1QU6SsH_0brPEJd2gBK3VgNLo3EFCJ0Wx4lJtHdI"}`,
		"RSA over 4096 bits":    `{"kty":"RSA","kid":"big","e":"AQAB","n":"` + base64.RawURLEncoding.EncodeToString(big) + `"}`,
		"RSA without n":         `{"kty":"RSA","kid":"non","e":"AQAB"}`,
	} {
		t.Run(name, func(t *testing.T) {
			e := newVerifyEnv(t, newJWKSOP(t))
			e.op.setKeys(t, json.RawMessage(unusable), pub(k, "a"))
			if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", e.claims(), nil)); err != nil {
				t.Fatalf("the usable key next to it is lost: %v", err)
			}
		})
	}
}

// TestKeyRotationWithoutKid: a provider without kids replaces its key;
// the token no cached key verifies makes the JWKS be fetched again.
func TestKeyRotationWithoutKid(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k1, k2 := rsaKeys()[0], rsaKeys()[1]
	e.op.setKeys(t, pub(k1, ""))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "", e.claims(), nil)); err != nil {
		t.Fatal(err)
	}
	e.op.setKeys(t, pub(k2, ""))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k2, "", e.claims(), nil)); err != nil {
		t.Fatalf("after a kid-less rotation: %v", err)
	}
}

// TestKeyRotationReusingKid: a provider puts a new key under the kid of
// the old one.
func TestKeyRotationReusingKid(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k1, k2 := rsaKeys()[0], rsaKeys()[1]
	e.op.setKeys(t, pub(k1, "a"))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "a", e.claims(), nil)); err != nil {
		t.Fatal(err)
	}
	e.op.setKeys(t, pub(k2, "a"))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k2, "a", e.claims(), nil)); err != nil {
		t.Fatalf("after a rotation that kept the kid: %v", err)
	}
}

// TestKeyRefetchRateLimited: tokens no key verifies cost the provider one
// JWKS request per KeyRefetchInterval, however many arrive.
func TestKeyRefetchRateLimited(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k1, forger := rsaKeys()[0], rsaKeys()[2]
	e.op.setKeys(t, pub(k1, "a"))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "a", e.claims(), nil)); err != nil {
		t.Fatal(err)
	}
	base := e.op.fetches.Load()
	for range 20 {
		if _, err := e.idToken(t, signTestJWT(t, jose.RS256, forger, "a", e.claims(), nil)); !errors.Is(err, ErrInvalidIDToken) {
			t.Fatalf("forged: %v", err)
		}
	}
	if got := e.op.fetches.Load() - base; got != 1 {
		t.Fatalf("%d refetches for 20 forged tokens within the interval, want 1", got)
	}
	e.clock.Advance(defaultLimits.KeyRefetchInterval)
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, forger, "x", e.claims(), nil)); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("forged: %v", err)
	}
	if got := e.op.fetches.Load() - base; got != 2 {
		t.Fatalf("%d refetches after the interval, want 2", got)
	}
}

// TestKeyRefetchFailureIsAnOutage: when the token's key is not cached and
// the JWKS cannot be fetched again, the answer is a provider outage, not
// a bad token.
func TestKeyRefetchFailureIsAnOutage(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k1, k2 := rsaKeys()[0], rsaKeys()[1]
	e.op.setKeys(t, pub(k1, "a"))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "a", e.claims(), nil)); err != nil {
		t.Fatal(err)
	}
	e.op.setStatus(http.StatusServiceUnavailable)
	_, err := e.idToken(t, signTestJWT(t, jose.RS256, k2, "b", e.claims(), nil))
	if !errors.Is(err, ErrProviderUnavailable) || errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("%v, want ErrProviderUnavailable", err)
	}
}

// TestRemovedKeyRefusedAfterLifetime: a key the provider removes from its
// JWKS (after a compromise) is trusted no longer than the JWKS's
// Cache-Control max-age.
func TestRemovedKeyRefusedAfterLifetime(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k1, k2 := rsaKeys()[0], rsaKeys()[1]
	e.op.setCacheControl("public, max-age=600")
	e.op.setKeys(t, pub(k1, "a"), pub(k2, "b"))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "a", e.claims(), nil)); err != nil {
		t.Fatal(err)
	}
	e.op.setKeys(t, pub(k2, "b"))
	e.clock.Advance(9 * time.Minute)
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "a", e.claims(), nil)); err != nil {
		t.Fatalf("within max-age: %v", err)
	}
	e.clock.Advance(2 * time.Minute)
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k1, "a", e.claims(), nil)); !errors.Is(err, ErrInvalidIDToken) {
		t.Fatalf("the removed key after max-age: %v, want ErrInvalidIDToken", err)
	}
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k2, "b", e.claims(), nil)); err != nil {
		t.Fatalf("the remaining key: %v", err)
	}
}

// TestKeyAge: the JWKS's Cache-Control max-age, kept between 5 minutes and
// 24 hours; 1 hour without it.
func TestKeyAge(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", time.Hour},
		{"no-store", time.Hour},
		{"max-age=600", 10 * time.Minute},
		{"public, max-age=7200, must-revalidate", 2 * time.Hour},
		{"Max-Age=900", 15 * time.Minute},
		{"max-age=1", 5 * time.Minute},
		{"max-age=0", 5 * time.Minute},
		{"max-age=-5", 5 * time.Minute},
		{"max-age=604800", 24 * time.Hour},
		{"max-age=99999999999999999999", time.Hour},
		{"max-age=9223372036", 24 * time.Hour},
		{"max-age=x", time.Hour},
	} {
		if got := keyAge(tc.header); got != tc.want {
			t.Errorf("keyAge(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}

// TestStaleKeysIfError: when the JWKS cannot be fetched at expiry, the
// expired keys keep working for 24 hours, with one warning per retry; then
// verification is a provider outage. The keys come back by themselves.
func TestStaleKeysIfError(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k := rsaKeys()[0]
	e.op.setKeys(t, pub(k, "a"))
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", e.claims(), nil)); err != nil {
		t.Fatal(err)
	}
	e.op.setStatus(http.StatusServiceUnavailable)
	e.clock.Advance(time.Hour + time.Minute) // past the default lifetime
	base := e.op.fetches.Load()
	for range 5 {
		if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", e.claims(), nil)); err != nil {
			t.Fatalf("stale keys refused: %v", err)
		}
	}
	if got := e.op.fetches.Load() - base; got != 1 {
		t.Errorf("%d refetches within the retry interval, want 1", got)
	}
	if n := strings.Count(e.log.String(), "jwks_stale"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, e.log.String())
	}
	e.clock.Advance(24 * time.Hour)
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", e.claims(), nil)); !errors.Is(err, ErrProviderUnavailable) {
		t.Fatalf("24 hours past expiry: %v, want ErrProviderUnavailable", err)
	}
	e.op.setStatus(http.StatusOK)
	if _, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", e.claims(), nil)); err != nil {
		t.Fatalf("after the JWKS is back: %v", err)
	}
}

// TestFirstKeyLoadFailureIsAnOutage: without any key ever loaded, a JWKS
// outage is 502, never 401.
func TestFirstKeyLoadFailureIsAnOutage(t *testing.T) {
	e := newVerifyEnv(t, newJWKSOP(t))
	k := rsaKeys()[0]
	e.op.setKeys(t, pub(k, "a"))
	e.op.setStatus(http.StatusServiceUnavailable)
	for i := range 3 { // every request, not just the one that may refetch after a miss
		_, err := e.idToken(t, signTestJWT(t, jose.RS256, k, "a", e.claims(), nil))
		if !errors.Is(err, ErrProviderUnavailable) || StatusCode(err) != http.StatusBadGateway {
			t.Fatalf("request %d: %v (status %d), want ErrProviderUnavailable and 502", i, err, StatusCode(err))
		}
	}
}
