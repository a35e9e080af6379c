package oidcmw

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var errUnknownKey = errors.New("no key in the provider's JWKS matches the token")

// keySet is the provider's JWKS. verify checks signatures with the cached
// keys only; ensure does all fetching, so that a fetch failure (502/504)
// stays distinguishable from a bad signature (401).
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time
	// missInterval bounds refetches caused by unknown key ids: a flood of
	// tokens with made-up kids costs the provider one JWKS request per
	// interval. maxDoc caps the JWKS document.
	missInterval time.Duration
	maxDoc       int

	mu       sync.Mutex
	keys     []jose.JSONWebKey
	loaded   bool
	lastMiss time.Time // last refetch caused by an unknown kid
	inflight *flight
}

func newKeySet(u string, c *http.Client, now func() time.Time, lim Limits) *keySet {
	return &keySet{url: u, client: c, now: now, missInterval: lim.KeyRefetchInterval, maxDoc: lim.MaxDocumentBytes}
}

// ensure makes sure the key named kid is loaded (any key when kid is empty): it fetches
// the JWKS on first use and once more when the kid is unknown (key
// rotation), at most once per missInterval.
func (ks *keySet) ensure(ctx context.Context, kid string) error {
	ks.mu.Lock()
	if ks.loaded {
		if kid == "" || ks.has(kid) {
			ks.mu.Unlock()
			return nil
		}
		if ks.inflight == nil && ks.now().Sub(ks.lastMiss) < ks.missInterval {
			ks.mu.Unlock()
			return errUnknownKey
		}
	}
	f := ks.inflight
	leader := f == nil
	if leader {
		f = &flight{done: make(chan struct{})}
		ks.inflight = f
		if ks.loaded {
			ks.lastMiss = ks.now()
		}
	}
	ks.mu.Unlock()

	if leader {
		keys, err := ks.fetch(context.WithoutCancel(ctx))
		ks.mu.Lock()
		if err == nil {
			ks.keys, ks.loaded = keys, true
		}
		ks.inflight, f.err = nil, err
		ks.mu.Unlock()
		close(f.done)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return &unavailable{what: "jwks", err: ctx.Err()}
	}
	if f.err != nil {
		return f.err
	}
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if kid != "" && !ks.has(kid) {
		return errUnknownKey
	}
	return nil
}

func (ks *keySet) has(kid string) bool {
	for i := range ks.keys {
		if ks.keys[i].KeyID == kid {
			return true
		}
	}
	return false
}

func (ks *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, ks.client, ks.url, ks.maxDoc, &set); err != nil {
		return nil, &unavailable{what: "jwks", err: err}
	}
	return filterSigningKeys(set.Keys), nil
}

// filterSigningKeys keeps the public keys meant for signatures.
func filterSigningKeys(keys []jose.JSONWebKey) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range keys {
		if k.IsPublic() && (k.Use == "" || k.Use == "sig") {
			out = append(out, k)
		}
	}
	return out
}

// verify checks t's signature with a cached key: the key named by t's kid,
// or, for a token without kid, the only key that fits its alg.
func (ks *keySet) verify(t *jws) error {
	var candidates [4]any
	keys := candidates[:0]
	ks.mu.Lock()
	for _, k := range ks.keys {
		if (t.kid == "" || k.KeyID == t.kid) && (k.Algorithm == "" || k.Algorithm == t.alg) && keyFitsAlg(k, t.alg) {
			keys = append(keys, k.Key)
		}
	}
	ks.mu.Unlock()
	switch {
	case len(keys) == 0:
		return errUnknownKey
	case len(keys) > 1 && t.kid == "":
		return errors.New("token has no kid and several keys fit")
	}
	for _, k := range keys {
		if verifySignature(k, t.alg, t.signingInput, t.signature) {
			return nil
		}
	}
	return errors.New("signature does not verify")
}

// keyFitsAlg reports whether the key type matches the algorithm family, so
// that no key is ever used with an algorithm of another family.
func keyFitsAlg(k jose.JSONWebKey, alg string) bool {
	switch k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return strings.HasPrefix(alg, "ES")
	case ed25519.PublicKey:
		return alg == "EdDSA"
	}
	return false
}
