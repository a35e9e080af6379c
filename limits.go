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
