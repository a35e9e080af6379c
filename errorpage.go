package oidcmw

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"strings"
)

// DefaultErrorHandler answers with [StatusCode](err) and a short page: HTML
// for browsers, an RFC 9457 problem document for clients that prefer JSON.
// It names the failure by a fixed reason code and never echoes err's text,
// a token or the provider's error_description.
func DefaultErrorHandler(w http.ResponseWriter, r *http.Request, err error) {
	status := StatusCode(err)
	reason := reasonCode(err)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	if wantsHTML(r) {
		h.Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "<!doctype html><meta charset=utf-8><title>%d %s</title>"+
			"<h1>%s</h1><p>%s</p><p><small>Reason: %s</small></p><p><a href=\"/\">Home</a></p>\n",
			status, html.EscapeString(http.StatusText(status)), html.EscapeString(http.StatusText(status)),
			html.EscapeString(userMessage(status)), reason)
		return
	}
	h.Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"type":"about:blank","title":%q,"status":%d,"reason":%q}`+"\n",
		http.StatusText(status), status, reason)
}

func wantsHTML(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "text/html") && !strings.Contains(a, "application/json")
}

func userMessage(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "You need to sign in again."
	case status < 500:
		return "The sign-in could not be completed. Please start again."
	default:
		return "The sign-in service is not available right now. Please try again in a moment."
	}
}

// reasonCode is a fixed, safe word for the error's category.
func reasonCode(err error) string {
	var pe *ProviderError
	if errors.As(err, &pe) {
		if pe.TokenEndpoint {
			return "token_error"
		}
		return "provider_error"
	}
	for _, c := range []struct {
		err  error
		code string
	}{
		{ErrUnauthenticated, "unauthenticated"},
		{ErrInvalidCallback, "invalid_callback"},
		{ErrStateMismatch, "state_mismatch"},
		{ErrLoginExpired, "login_expired"},
		{ErrIssuerMismatch, "issuer_mismatch"},
		{ErrInvalidIDToken, "invalid_id_token"},
		{ErrInvalidTokenResponse, "invalid_token_response"},
		{ErrProviderUnavailable, "provider_unavailable"},
		{ErrProviderMisconfigured, "provider_misconfigured"},
		{ErrStoreUnavailable, "store_unavailable"},
		{ErrTooManyLogins, "too_many_logins"},
		{ErrInvalidChecks, "invalid_checks"},
		{ErrInvalidUserInfo, "invalid_userinfo"},
		{ErrInsufficientAuthentication, "insufficient_user_authentication"},
		{ErrLoginRefused, "login_refused"},
		{ErrInvalidLogoutToken, "invalid_logout_token"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return "internal_error"
}
