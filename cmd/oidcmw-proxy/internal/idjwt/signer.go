package idjwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Header is the request header that carries the token to the upstream.
const Header = "X-Auth-Request-Jwt"

// Token lifetimes: [NewSigner] uses DefaultTTL for a zero ttl and refuses
// more than MaxTTL.
const (
	DefaultTTL = 60 * time.Second
	MaxTTL     = 10 * time.Minute
)

// minRSABits is the smallest RSA key NewSigner accepts (NIST SP 800-57).
const minRSABits = 2048

// Signer signs identity tokens with one key and serves that key's public
// half. It is immutable and safe for concurrent use.
type Signer struct {
	issuer   string
	audience string
	ttl      time.Duration
	alg      jose.SignatureAlgorithm
	signer   jose.Signer
	jwks     []byte // the JSON key set served by JWKS
}

// NewSigner returns a Signer for tokens with the given iss and aud claims,
// valid for ttl. Both issuer and audience are required. A zero ttl means
// [DefaultTTL]; otherwise ttl must be at least 1 s (the claims count whole
// seconds) and at most [MaxTTL].
//
// key signs the tokens; nil means a fresh ECDSA P-256 key (ES256). Any
// crypto.Signer whose public key is ECDSA P-256, P-384 or P-521 (ES256,
// ES384, ES512), RSA of at least 2048 bits (RS256) or Ed25519 (EdDSA)
// works: *ecdsa.PrivateKey, *rsa.PrivateKey and ed25519.PrivateKey
// directly, other implementations (hardware or remote keys) through their
// Sign method. NewSigner does not call key.Sign.
func NewSigner(issuer, audience string, ttl time.Duration, key crypto.Signer) (*Signer, error) {
	switch {
	case issuer == "":
		return nil, errors.New("idjwt: issuer is required")
	case audience == "":
		return nil, errors.New("idjwt: audience is required")
	case ttl == 0:
		ttl = DefaultTTL
	case ttl < time.Second || ttl > MaxTTL:
		return nil, fmt.Errorf("idjwt: ttl %v: want 1s to %v", ttl, MaxTTL)
	}
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("idjwt: generating a key: %w", err)
		}
		key = k
	}
	pub := key.Public()
	alg, err := algorithm(pub)
	if err != nil {
		return nil, err
	}
	public := jose.JSONWebKey{Key: pub, Algorithm: string(alg), Use: "sig"}
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("idjwt: key thumbprint: %w", err)
	}
	public.KeyID = base64.RawURLEncoding.EncodeToString(thumb)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{public}})
	if err != nil {
		return nil, fmt.Errorf("idjwt: encoding the key set: %w", err)
	}

	var private any
	switch key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey, ed25519.PrivateKey:
		private = key // go-jose signs with these itself
	default:
		private = cryptosigner.Opaque(key)
	}
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: private, KeyID: public.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return nil, fmt.Errorf("idjwt: %w", err)
	}
	return &Signer{issuer: issuer, audience: audience, ttl: ttl, alg: alg, signer: signer, jwks: jwks}, nil
}

// algorithm picks the JWS algorithm (RFC 7518 §3.1, RFC 8037 §3.1) for a
// public key.
func algorithm(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch pub := pub.(type) {
	case *ecdsa.PublicKey:
		if pub == nil || pub.Curve == nil {
			break
		}
		switch pub.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("idjwt: ECDSA curve %s not supported: use P-256, P-384 or P-521", pub.Curve.Params().Name)
	case *rsa.PublicKey:
		if pub == nil || pub.N == nil {
			break
		}
		if n := pub.N.BitLen(); n < minRSABits {
			return "", fmt.Errorf("idjwt: RSA key of %d bits: want at least %d", n, minRSABits)
		}
		return jose.RS256, nil
	case ed25519.PublicKey:
		if len(pub) != ed25519.PublicKeySize {
			break
		}
		return jose.EdDSA, nil
	}
	return "", fmt.Errorf("idjwt: public key %T invalid or not supported: use ECDSA, RSA or Ed25519", pub)
}

// Algorithm returns the JWS "alg" of the tokens, such as "ES256": the
// value the upstream pins its verifier to.
func (s *Signer) Algorithm() string { return string(s.alg) }

// claims are the token's claims; see the package documentation.
type claims struct {
	jwt.Claims
	Email  string   `json:"email,omitempty"`
	Groups []string `json:"groups,omitempty"`
}

// Sign returns a compact signed token for the user sub, issued at now (the
// zero time means time.Now()) and expiring after the Signer's TTL. sub is
// required; email is included only when non-empty, groups only when they
// hold at least one value. Sign keeps no reference to groups.
//
// The token lists every group: with many groups it can outgrow what the
// upstream accepts in a header (often 8 KiB for all headers).
func (s *Signer) Sign(sub, email string, groups []string, now time.Time) (string, error) {
	if sub == "" {
		return "", errors.New("idjwt: subject is required")
	}
	if now.IsZero() {
		now = time.Now()
	}
	c := claims{
		Claims: jwt.Claims{
			Issuer:    s.issuer,
			Subject:   sub,
			Audience:  jwt.Audience{s.audience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			Expiry:    jwt.NewNumericDate(now.Add(s.ttl)),
			ID:        rand.Text(),
		},
		Email:  email,
		Groups: groups,
	}
	tok, err := jwt.Signed(s.signer).Claims(c).Serialize()
	if err != nil {
		return "", fmt.Errorf("idjwt: signing: %w", err)
	}
	return tok, nil
}
