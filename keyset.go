package oidcmw

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// The lifetime of fetched keys: the provider's Cache-Control max-age, kept
// between minKeyAge and maxKeyAge, or defaultKeyAge without one. When a
// refetch at expiry fails, the keys keep working for staleIfError more.
const (
	minKeyAge     = 5 * time.Minute
	maxKeyAge     = 24 * time.Hour
	defaultKeyAge = time.Hour
	staleIfError  = 24 * time.Hour
)

var (
	errUnknownKey   = errors.New("no key in the provider's JWKS verifies the token")
	errAmbiguousKey = errors.New("token has no kid and several keys fit")
)

// keySet is the provider's JWKS, and the oidc.KeySet go-oidc verifies
// signatures with. ensure does the fetching a request must wait for (the
// first load, and the refetch at expiry), so that an unreachable JWKS
// (502/504) stays distinguishable from a bad signature (401): go-oidc
// wraps KeySet errors with %v. VerifySignature refetches once more when no
// cached key verifies a token (rotation, with or without kid), at most
// once per missInterval, and reports a failed refetch through the
// verifyState in its context.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
	// missInterval bounds refetches caused by tokens no key verifies: a
	// flood of forged tokens costs the provider one JWKS request per
	// interval. It also spaces the retries of a failed refetch at expiry.
	// maxDoc caps the JWKS document.
	missInterval time.Duration
	maxDoc       int

	cur     atomic.Pointer[keySnapshot]
	retryAt atomic.Int64 // unix nanoseconds: no refetch of stale keys before
	missAt  atomic.Int64 // unix nanoseconds of the last refetch after a miss
	flight  singleflight.Group
}

// keySnapshot is one fetched JWKS: immutable once stored.
type keySnapshot struct {
	keys    []jose.JSONWebKey
	fetched time.Time
	expires time.Time
}

var _ oidc.KeySet = (*keySet)(nil)

func newKeySet(u string, c *http.Client, now func() time.Time, lim Limits, log *slog.Logger) *keySet {
	return &keySet{url: u, client: c, now: now, log: log, missInterval: lim.KeyRefetchInterval, maxDoc: lim.MaxDocumentBytes}
}

// ensure makes sure usable keys are loaded: fetched on first use and again
// at expiry. When that refetch fails, the expired keys go on working for
// staleIfError (with a warning, and a retry at most once per
// missInterval); after that, and before any fetch succeeded, the error
// is returned.
func (ks *keySet) ensure(ctx context.Context) error {
	now := ks.now()
	s := ks.cur.Load()
	if s != nil && now.Before(s.expires) {
		return nil
	}
	stale := s != nil && now.Before(s.expires.Add(staleIfError))
	retryAt := ks.retryAt.Load()
	if stale && now.UnixNano() < retryAt {
		return nil
	}
	err := ks.load(ctx)
	if err == nil || !stale {
		return err
	}
	// One caller of those that saw the failure logs it and sets the next try.
	if ks.retryAt.CompareAndSwap(retryAt, now.Add(ks.missInterval).UnixNano()) {
		ks.log.Warn("oidcmw: JWKS refetch failed; the expired keys stay in use",
			"reason", "jwks_stale", "fetched", s.fetched, "expired", s.expires, "err", err)
	}
	return nil
}

// load fetches the JWKS, once for all concurrent callers, and keeps it.
// The fetch outlives a caller that gives up: others may be waiting. The
// HTTP client's timeouts bound it. Each caller gets an error of its own.
func (ks *keySet) load(ctx context.Context) error {
	ch := ks.flight.DoChan("jwks", func() (any, error) {
		keys, age, err := ks.fetch(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		now := ks.now()
		ks.cur.Store(&keySnapshot{keys: keys, fetched: now, expires: now.Add(age)})
		return nil, nil
	})
	select {
	case r := <-ch:
		if r.Err != nil {
			return &unavailable{what: "jwks", err: r.Err}
		}
		return nil
	case <-ctx.Done():
		return &unavailable{what: "jwks", err: ctx.Err()}
	}
}

// fetch reads the JWKS and its lifetime. Keys that cannot be used are
// skipped, not fatal (RFC 7517 §5): unknown kty or curve, keys over
// jose.MaxRSAModulusBits, private or encryption keys.
func (ks *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, time.Duration, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	h, err := getJSONHeader(ctx, ks.client, ks.url, ks.maxDoc, &set)
	if err != nil {
		return nil, 0, err
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys = append(keys, k)
	}
	return keys, keyAge(h.Get("Cache-Control")), nil
}

// keyAge reads max-age from a Cache-Control header, within
// [minKeyAge, maxKeyAge]; defaultKeyAge without one.
func keyAge(cacheControl string) time.Duration {
	for _, d := range strings.Split(cacheControl, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		if !strings.EqualFold(name, "max-age") {
			continue
		}
		sec, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
		if err != nil {
			break
		}
		sec = min(max(sec, int64(minKeyAge/time.Second)), int64(maxKeyAge/time.Second))
		return time.Duration(sec) * time.Second
	}
	return defaultKeyAge
}

// VerifySignature implements oidc.KeySet: it verifies jwt, a compact JWS,
// with a cached key, refetching the JWKS once (within missInterval) when
// none verifies it. The verifyState in ctx gets the header and payload, or
// the refetch failure that go-oidc's error would hide.
func (ks *keySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	st, _ := ctx.Value(verifyStateKey{}).(*verifyState)
	if st == nil {
		return nil, errors.New("oidcmw: key set used without its verifier")
	}
	// go-oidc has checked the alg against the allow-list already; this
	// parse sees the same list and accepts only the compact form.
	jws, err := jose.ParseSignedCompact(jwt, st.algs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("not exactly one signature")
	}
	h := jws.Signatures[0].Header
	payload, err := verifyWith(ks.cur.Load(), jws, h)
	if errors.Is(err, errUnknownKey) && ks.missRefetchAllowed() {
		if err := ks.load(ctx); err != nil {
			st.unavailable = err
			return nil, err
		}
		payload, err = verifyWith(ks.cur.Load(), jws, h)
	}
	if err != nil {
		return nil, err
	}
	st.header, st.payload = h, payload
	return payload, nil
}

// missRefetchAllowed reports whether a refetch after a miss may run now,
// and books it.
func (ks *keySet) missRefetchAllowed() bool {
	now := ks.now().UnixNano()
	last := ks.missAt.Load()
	if last != 0 && now-last < int64(ks.missInterval) {
		return false
	}
	return ks.missAt.CompareAndSwap(last, now)
}

// verifyWith checks jws with the keys of s that fit its header: the key
// named by its kid, or, without kid, the only key of the alg's family.
func verifyWith(s *keySnapshot, jws *jose.JSONWebSignature, h jose.Header) ([]byte, error) {
	if s == nil {
		return nil, errUnknownKey
	}
	var candidates [4]*jose.JSONWebKey
	keys := candidates[:0]
	for i := range s.keys {
		k := &s.keys[i]
		if (h.KeyID == "" || k.KeyID == h.KeyID) && (k.Algorithm == "" || k.Algorithm == h.Algorithm) && keyFitsAlg(k, h.Algorithm) {
			keys = append(keys, k)
		}
	}
	if h.KeyID == "" && len(keys) > 1 {
		// Refused, as openid-client does (the conformance suite allows
		// refusing or trying each).
		return nil, errAmbiguousKey
	}
	for _, k := range keys {
		if payload, err := jws.Verify(k); err == nil {
			return payload, nil
		}
	}
	return nil, fmt.Errorf("%w (%d keys fit)", errUnknownKey, len(keys))
}

// keyFitsAlg reports whether the key type matches the algorithm family, so
// that no key is ever used with an algorithm of another family.
func keyFitsAlg(k *jose.JSONWebKey, alg string) bool {
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
