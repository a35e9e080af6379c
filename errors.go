package oidcmw

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Sentinel errors. Every error the middleware hands to
// [Options.ErrorHandler] or returns from [Middleware.AuthorizationCodeGrant]
// matches exactly one of them (or is a [*ProviderError]) under errors.Is /
// errors.As, and [StatusCode] maps it to an HTTP status.
var (
	// ErrUnauthenticated: the request has no valid session and the guard
	// does not start a login for it (an API call). Status 401.
	ErrUnauthenticated = errors.New("oidcmw: not authenticated")

	// ErrInvalidCallback: the authorization response is malformed: a
	// repeated, oversized or missing parameter, or the wrong HTTP method for
	// the response mode. Status 400.
	ErrInvalidCallback = errors.New("oidcmw: invalid authorization response")

	// ErrStateMismatch: no pending login for this browser matches the
	// response's state (unknown, already used, bound to another browser, or
	// not equal to the expected value). This is what a login CSRF or a
	// replayed callback gets. Status 400.
	ErrStateMismatch = errors.New("oidcmw: state does not match a pending login")

	// ErrLoginExpired: the pending login was found but is older than
	// [Options.LoginTimeout]. Status 400.
	ErrLoginExpired = errors.New("oidcmw: pending login expired")

	// ErrIssuerMismatch: the RFC 9207 iss parameter differs from the issuer,
	// or is missing although the provider advertises it. Status 400.
	ErrIssuerMismatch = errors.New("oidcmw: authorization response issuer mismatch")

	// ErrInvalidIDToken: the ID token failed a check of OpenID Connect Core
	// §3.1.3.7 (signature, iss, aud, azp, exp, iat, sub, nonce, auth_time).
	// Status 401.
	ErrInvalidIDToken = errors.New("oidcmw: invalid ID token")

	// ErrInvalidTokenResponse: the token endpoint answered 200 with
	// something that is not a valid token response (not JSON, wrong
	// token_type, no id_token). The provider is broken. Status 502.
	ErrInvalidTokenResponse = errors.New("oidcmw: invalid token response")

	// ErrProviderUnavailable: discovery, the JWKS or the token endpoint
	// could not be reached, answered with a server error, or served an
	// unusable document. An outage: retried on the next request. Status
	// 502, or 504 when the request timed out.
	ErrProviderUnavailable = errors.New("oidcmw: provider unavailable")

	// ErrProviderMisconfigured: the provider's discovery contradicts the
	// configuration, so that retrying cannot help: its issuer differs from
	// Options.Issuer, a required endpoint is missing or not an absolute
	// URL, an endpoint is http while the issuer is https, it lists no ID
	// token algorithm the middleware supports, or the discovery URL
	// answered 404 or 410 (Options.Issuer names no provider). It does not
	// match ErrProviderUnavailable: [Middleware.Discover] at start-up tells
	// a configuration error (stop) from an outage (start and retry) by it.
	// Status 502.
	ErrProviderMisconfigured = errors.New("oidcmw: provider discovery contradicts the configuration")

	// ErrInvalidUserInfo: the UserInfo response is not a JSON object or its
	// sub differs from the ID token's (OIDC Core §5.3.2). Status 401.
	ErrInvalidUserInfo = errors.New("oidcmw: invalid UserInfo response")

	// ErrInsufficientAuthentication: the session, or the login that was
	// meant to step it up, does not meet a route's [Requirement] (auth_time
	// too old, acr not accepted). Status 401.
	ErrInsufficientAuthentication = errors.New("oidcmw: insufficient user authentication")

	// ErrLoginRefused: Options.AfterLogin refused the login; its error is
	// wrapped. Status 403.
	ErrLoginRefused = errors.New("oidcmw: login refused")

	// ErrInvalidLogoutToken: a back-channel logout token failed a check of
	// OIDC Back-Channel Logout 1.0 §2.6, or was replayed. Status 400.
	ErrInvalidLogoutToken = errors.New("oidcmw: invalid logout token")

	// ErrStoreUnavailable: the [Store] returned an error. The middleware
	// fails closed. Status 503.
	ErrStoreUnavailable = errors.New("oidcmw: session store unavailable")

	// ErrTooManyLogins: this instance has started Options.MaxOpenLogins
	// logins within LoginTimeout, and starts no more until some of them
	// leave that window. Status 503, with Retry-After.
	ErrTooManyLogins = errors.New("oidcmw: too many logins in progress")

	// ErrInvalidChecks: [Middleware.AuthorizationCodeGrant] was called with
	// [Checks] it cannot use (no State or CodeVerifier, a DPoPKey of a type
	// it cannot sign with), or no DPoP key could be made for the grant. A
	// mistake of the calling code, not of the user or the provider: status
	// 500.
	ErrInvalidChecks = errors.New("oidcmw: invalid grant checks")
)

// ProviderError is an OAuth 2.0 error response from the provider: the
// authorization endpoint's error redirect (RFC 6749 §4.1.2.1, only reported
// after state and iss have been checked) or the token endpoint's error body
// (RFC 6749 §5.2). Description and URI come from the provider and must not
// be shown to users verbatim; [DefaultErrorHandler] never does.
//
// A token endpoint error that came with a server error status (5xx) also
// matches [ErrProviderUnavailable] and answers 502: the provider is down,
// and Code tells, for instance, temporarily_unavailable from server_error.
type ProviderError struct {
	Code        string // error, e.g. "access_denied", "invalid_grant"
	Description string // error_description, may be empty
	URI         string // error_uri, may be empty
	// TokenEndpoint is true when the token endpoint returned the error,
	// false when it came in the authorization response.
	TokenEndpoint bool
	// StatusCode is the token endpoint's HTTP status; 0 for an error in
	// the authorization response.
	StatusCode int
}

// Is reports whether the error is a provider outage: a token endpoint error
// with a 5xx status matches ErrProviderUnavailable.
func (e *ProviderError) Is(target error) bool {
	return target == ErrProviderUnavailable && e.StatusCode >= 500
}

func (e *ProviderError) Error() string {
	if e.TokenEndpoint {
		return "oidcmw: token endpoint error: " + e.Code
	}
	return "oidcmw: authorization error: " + e.Code
}

// providerStatus maps the provider's error code to the status the user
// agent gets.
func (e *ProviderError) status() int {
	if e.TokenEndpoint {
		if e.StatusCode >= 500 {
			return http.StatusBadGateway
		}
		switch e.Code {
		case "invalid_grant", "invalid_request":
			// The code was used, expired or belongs to someone else.
			return http.StatusBadRequest
		}
		// invalid_client, unauthorized_client, ...: our configuration or
		// the provider is wrong, not the user.
		return http.StatusBadGateway
	}
	switch e.Code {
	case "access_denied":
		return http.StatusForbidden
	case "login_required", "interaction_required", "consent_required", "account_selection_required":
		return http.StatusUnauthorized
	case "temporarily_unavailable":
		return http.StatusServiceUnavailable
	case "server_error":
		return http.StatusBadGateway
	}
	return http.StatusBadRequest
}

// unavailable wraps a failure to talk to the provider so that it matches
// ErrProviderUnavailable and keeps the cause for errors.As.
type unavailable struct {
	what  string // "discovery", "jwks", "token endpoint"
	err   error
	retry bool // 503: the session is fine, the provider is needed and down
}

func (e *unavailable) Error() string {
	if e.err == nil {
		return "oidcmw: provider unavailable: " + e.what
	}
	return "oidcmw: provider unavailable: " + e.what + ": " + e.err.Error()
}

func (e *unavailable) Is(target error) bool { return target == ErrProviderUnavailable }
func (e *unavailable) Unwrap() error        { return e.err }

// misconfigured wraps a discovery failure that is a configuration error
// so that it matches ErrProviderMisconfigured and keeps the cause.
type misconfigured struct{ err error }

func (e *misconfigured) Error() string {
	return ErrProviderMisconfigured.Error() + ": " + e.err.Error()
}
func (e *misconfigured) Is(target error) bool { return target == ErrProviderMisconfigured }
func (e *misconfigured) Unwrap() error        { return e.err }

func (e *unavailable) timeout() bool {
	if errors.Is(e.err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

// StatusCode returns the HTTP status the middleware answers for err: 4xx for
// a failed check or bad input, 502/503/504 for a provider or store failure,
// 500 for anything it does not know. Custom error handlers use it to keep
// the mapping.
func StatusCode(err error) int {
	var pe *ProviderError
	var ue *unavailable
	var co *circuitOpen
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &co):
		// An open circuit: the dependency is known to be down, and the
		// request may be retried after the cool-down.
		return http.StatusServiceUnavailable
	case errors.As(err, &ue) && ue.retry:
		return http.StatusServiceUnavailable
	case errors.As(err, &pe):
		return pe.status()
	case errors.As(err, &ue):
		if ue.timeout() {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrInvalidIDToken),
		errors.Is(err, ErrInvalidUserInfo), errors.Is(err, ErrInsufficientAuthentication):
		return http.StatusUnauthorized
	case errors.Is(err, ErrLoginRefused):
		return http.StatusForbidden
	case errors.Is(err, ErrInvalidCallback), errors.Is(err, ErrStateMismatch),
		errors.Is(err, ErrLoginExpired), errors.Is(err, ErrIssuerMismatch),
		errors.Is(err, ErrInvalidLogoutToken):
		return http.StatusBadRequest
	case errors.Is(err, ErrInvalidTokenResponse), errors.Is(err, ErrProviderUnavailable),
		errors.Is(err, ErrProviderMisconfigured):
		return http.StatusBadGateway
	case errors.Is(err, ErrStoreUnavailable), errors.Is(err, ErrTooManyLogins):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	}
	return http.StatusInternalServerError
}

// circuitOpen is the error of a call an open circuit refused.
type circuitOpen struct {
	dep        string
	retryAfter time.Duration
}

func (e *circuitOpen) Error() string { return "oidcmw: circuit open: " + e.dep + " is failing" }
