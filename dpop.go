package oidcmw

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// DPoP (RFC 9449): with Options.DPoP every session gets its own P-256 key,
// created when the login starts and kept (sealed with SecretKeys) in the
// store; the token and refresh requests carry proofs made with it, so the
// provider binds the access token (and a public client's refresh token) to
// the key. [Identity.Transport] makes the proofs for calls to APIs.

// dpopKey is a session's DPoP key, or the one a caller of
// AuthorizationCodeGrant passed in Checks.DPoPKey.
type dpopKey struct {
	key crypto.Signer
	alg jose.SignatureAlgorithm
}

// newDPoPKey makes the P-256 key of a login.
func newDPoPKey() (*dpopKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return &dpopKey{key: k, alg: jose.ES256}, nil
}

// dpopKeyFrom takes a caller's key: ECDSA on P-256, P-384 or P-521, Ed25519
// or RSA of at least 2048 bits (PS256), the keys go-jose signs with.
func dpopKeyFrom(s crypto.Signer) (*dpopKey, error) {
	switch k := s.(type) {
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return &dpopKey{key: k, alg: jose.ES256}, nil
		case elliptic.P384():
			return &dpopKey{key: k, alg: jose.ES384}, nil
		case elliptic.P521():
			return &dpopKey{key: k, alg: jose.ES512}, nil
		}
	case ed25519.PrivateKey:
		return &dpopKey{key: k, alg: jose.EdDSA}, nil
	case *rsa.PrivateKey:
		if k.N.BitLen() >= 2048 {
			return &dpopKey{key: k, alg: jose.PS256}, nil
		}
	}
	return nil, fmt.Errorf("%w: unsupported DPoP key %T", ErrInvalidChecks, s)
}

// parseDPoPKey reads a key that marshal wrote; nil for no key.
func parseDPoPKey(der []byte) (*dpopKey, error) {
	if len(der) == 0 {
		return nil, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return dpopKeyFrom(k)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("DPoP key %T", k)
	}
	return dpopKeyFrom(s)
}

// marshal writes the key for a session record: SEC 1 for ECDSA (the form
// of every key a login makes), PKCS #8 otherwise; nil for no key.
func (k *dpopKey) marshal() []byte {
	if k == nil {
		return nil
	}
	if ec, ok := k.key.(*ecdsa.PrivateKey); ok {
		der, _ := x509.MarshalECPrivateKey(ec)
		return der
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k.key)
	return der
}

// proof is a DPoP proof JWT (RFC 9449 §4.2) for a request; accessToken,
// when set, is bound with ath.
func (k *dpopKey) proof(method, target, nonce, accessToken string, now time.Time) (string, error) {
	htu := target
	if i := strings.IndexAny(htu, "?#"); i >= 0 {
		htu = htu[:i]
	}
	claims := map[string]any{"jti": rand.Text(), "htm": method, "htu": htu, "iat": now.Unix()}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return signJWT(k.alg, k.key, (&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"), claims)
}

// dpopNonces remembers the latest DPoP-Nonce each server sent.
type dpopNonces struct {
	mu sync.Mutex
	m  map[nonceKey]string
}

func (n *dpopNonces) get(k nonceKey) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m[k]
}

func (n *dpopNonces) set(k nonceKey, nonce string) {
	if nonce == "" {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.m == nil {
		n.m = make(map[nonceKey]string)
	}
	n.m[k] = nonce
}

// Transport returns an http.RoundTripper that calls APIs with the
// identity's access token: as a DPoP-bound token with a fresh proof per
// request when the provider bound it (TokenType "DPoP"), retrying once when
// the API asks for a DPoP nonce; as a Bearer token otherwise. base may be
// nil (http.DefaultTransport). Requests whose body cannot be replayed are
// not retried.
func (id *Identity) Transport(base http.RoundTripper) http.RoundTripper {
	return id.transport(base, time.Now)
}

// transport is Transport with the middleware's clock for proof times.
func (id *Identity) transport(base http.RoundTripper, now func() time.Time) http.RoundTripper {
	dk, err := parseDPoPKey(id.dpop) // nil when there is none: Bearer
	if err != nil {
		// Never fall back to Bearer for a token that may be DPoP-bound.
		return failingTransport{fmt.Errorf("oidcmw: the session's DPoP key does not parse: %w", err)}
	}
	return newAuthTransport(id, dk, base, now)
}

// crossHostRedirect reports whether req follows a redirect that led to
// another host than the first request of its chain.
func crossHostRedirect(req *http.Request) bool {
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return first != req && !strings.EqualFold(first.URL.Host, req.URL.Host)
}

// failingTransport fails every request with err.
type failingTransport struct{ err error }

func (t failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, t.err
}

func newAuthTransport(id *Identity, dk *dpopKey, base http.RoundTripper, now func() time.Time) *authTransport {
	if base == nil {
		base = http.DefaultTransport
	}
	return &authTransport{id: id, dk: dk, base: base, now: now}
}

type authTransport struct {
	id     *Identity
	dk     *dpopKey
	base   http.RoundTripper
	now    func() time.Time
	nonces dpopNonces
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if crossHostRedirect(req) {
		// net/http strips Authorization on a redirect to another host; the
		// token is added here, after that, so it is left out instead.
		return t.base.RoundTrip(req)
	}
	dk := t.dk
	if dk == nil || !strings.EqualFold(t.id.TokenType, "DPoP") {
		r := req.Clone(req.Context())
		r.Header.Set("Authorization", "Bearer "+t.id.AccessToken)
		return t.base.RoundTrip(r)
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		if attempt > 0 {
			if req.GetBody == nil && req.Body != nil && req.Body != http.NoBody {
				return nil, errors.New("oidcmw: DPoP nonce retry needs a replayable request body")
			}
			if req.GetBody != nil {
				body, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				r.Body = body
			}
		}
		proof, err := dk.proof(r.Method, r.URL.String(), t.nonces.get(nonceKey(r.URL.Host)), t.id.AccessToken, t.now())
		if err != nil {
			return nil, err
		}
		r.Header.Set("Authorization", "DPoP "+t.id.AccessToken)
		r.Header.Set("DPoP", proof)
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		nonce := resp.Header.Get("DPoP-Nonce")
		t.nonces.set(nonceKey(r.URL.Host), nonce)
		if attempt == 0 && nonce != "" && resp.StatusCode == http.StatusUnauthorized &&
			strings.Contains(resp.Header.Get("WWW-Authenticate"), "use_dpop_nonce") {
			resp.Body.Close()
			continue
		}
		return resp, nil
	}
}
