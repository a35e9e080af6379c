package oidcmw

import (
	"errors"
	"time"
)

// Limits bound what the middleware accepts from browsers and providers,
// and how often it asks the provider again. The zero value of each field
// means its default. HTTP timeouts are those of Options.HTTPClient.
type Limits struct {
	// MaxRequestBytes caps the query or form body of a callback or
	// back-channel logout request. Default 64 KiB.
	MaxRequestBytes int
	// MaxParamBytes caps one authorization response parameter (real codes
	// are at most a few KiB; Entra's are the longest seen). Default 8 KiB.
	MaxParamBytes int
	// MaxTokenBytes caps an ID token or logout token before any parsing
	// (CVE-2025-27144 class). Default 64 KiB.
	MaxTokenBytes int
	// MaxDocumentBytes caps discovery, JWKS, token endpoint and UserInfo
	// responses. Default 1 MiB.
	MaxDocumentBytes int
	// KeyRefetchInterval is the least time between JWKS refetches caused by
	// tokens no cached key verifies (an unknown kid, a rotated key); the
	// first refetches at once. Default 5 s.
	KeyRefetchInterval time.Duration
}

// defaultLimits are the limits the zero Limits stands for.
var defaultLimits = Limits{
	MaxRequestBytes:    64 << 10,
	MaxParamBytes:      8 << 10,
	MaxTokenBytes:      64 << 10,
	MaxDocumentBytes:   1 << 20,
	KeyRefetchInterval: 5 * time.Second,
}

func (l Limits) normalize() (Limits, error) {
	if l.MaxRequestBytes < 0 || l.MaxParamBytes < 0 || l.MaxTokenBytes < 0 ||
		l.MaxDocumentBytes < 0 || l.KeyRefetchInterval < 0 {
		return l, errors.New("oidcmw: Options.Limits must not be negative")
	}
	d := defaultLimits
	if l.MaxRequestBytes == 0 {
		l.MaxRequestBytes = d.MaxRequestBytes
	}
	if l.MaxParamBytes == 0 {
		l.MaxParamBytes = d.MaxParamBytes
	}
	if l.MaxTokenBytes == 0 {
		l.MaxTokenBytes = d.MaxTokenBytes
	}
	if l.MaxDocumentBytes == 0 {
		l.MaxDocumentBytes = d.MaxDocumentBytes
	}
	if l.KeyRefetchInterval == 0 {
		l.KeyRefetchInterval = d.KeyRefetchInterval
	}
	return l, nil
}

// CircuitBreaker configures the circuit breakers the middleware puts in
// front of the Store and of the provider's endpoints (one each per
// Middleware). While a dependency is down, a closed circuit would let
// every request wait for its timeouts; after Failures consecutive
// failures within Window the circuit opens, and calls fail at once (503
// with Retry-After: [ErrStoreUnavailable] or [ErrProviderUnavailable]) for
// CoolDown. Then one call is let through as a probe: its success closes
// the circuit, its failure opens it again. The zero value of each field
// means its default.
//
// What counts as a failure: a Store error; a transport error or a 5xx
// answer from the provider. A request the client cancelled counts as
// neither.
type CircuitBreaker struct {
	// Failures is how many consecutive failures open the circuit.
	// Default 5.
	Failures int
	// Window is how long failures count: a closed circuit forgets them
	// every Window. Default 10 s.
	Window time.Duration
	// CoolDown is how long an open circuit refuses calls before its probe.
	// Default 5 s.
	CoolDown time.Duration
	// LogInterval: while a dependency fails, the Logger gets one warning
	// when it starts, then at most one summary (failed and refused
	// calls) per LogInterval, and one record when it recovers (a probe
	// closed its circuit, or, for an outage too short to open it, a success
	// came after CoolDown or 1 s, whichever is shorter, without a
	// failure); requests failed by the outage are not logged one by one.
	// Default 1 min.
	LogInterval time.Duration
	// Disabled lets every call through (for a Store client with a breaker
	// of its own); the outage logging stays.
	Disabled bool
}

var defaultCircuitBreaker = CircuitBreaker{Failures: 5, Window: 10 * time.Second,
	CoolDown: 5 * time.Second, LogInterval: time.Minute}

func (c CircuitBreaker) withDefaults() CircuitBreaker {
	d := defaultCircuitBreaker
	if c.Failures > 0 {
		d.Failures = c.Failures
	}
	if c.Window > 0 {
		d.Window = c.Window
	}
	if c.CoolDown > 0 {
		d.CoolDown = c.CoolDown
	}
	if c.LogInterval > 0 {
		d.LogInterval = c.LogInterval
	}
	d.Disabled = c.Disabled
	return d
}
