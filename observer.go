package oidcmw

import (
	"context"
	"time"
)

// Observer is told what the middleware did, for metrics and audit. Observe
// runs on the request's goroutine, after the fact; it must be safe for
// concurrent use and return quickly. An Event carries no token, code,
// cookie or subject. adapters/otelobserver implements it with the
// OpenTelemetry metric API.
type Observer interface {
	Observe(ctx context.Context, e Event)
}

// EventKind names what an [Event] reports.
type EventKind string

const (
	// EventLogin: a callback completed a login (Err nil) or refused it.
	// Duration runs from the start of the login to the end of the callback.
	EventLogin EventKind = "login"
	// EventRefresh: a session's tokens were refreshed at the token
	// endpoint, or the refresh failed. Duration is the refresh's.
	EventRefresh EventKind = "refresh"
	// EventLogout: [Middleware.Logout] ended a session (Sessions 1) or
	// found none to end (Sessions 0), or failed.
	EventLogout EventKind = "logout"
	// EventBackchannelLogout: a logout token ended the Sessions sessions
	// of its sid or sub (the count may include sessions that had already
	// ended, which the store's index still named), or was refused.
	EventBackchannelLogout EventKind = "backchannel_logout"
	// EventStoreError: the [Store] failed a request (Err matches
	// [ErrStoreUnavailable]).
	EventStoreError EventKind = "store_error"
	// EventCircuit: the circuit breaker of Dependency ("store" or
	// "provider") changed to State: "open" (calls fail at once),
	// "half-open" (one probe call) or "closed" (calls go through).
	EventCircuit EventKind = "circuit"
	// EventRefused: an open circuit refused a call to Dependency.
	EventRefused EventKind = "circuit_refused"
)

// Event is one thing the middleware did.
type Event struct {
	Kind   EventKind
	Issuer string // Options.Issuer of the middleware that acted
	// Err is nil on success. Reason is its stable code, the one logs and
	// error pages show ("state_mismatch", "provider_unavailable", ...),
	// empty on success.
	Err      error
	Reason   string
	Duration time.Duration // logins and refreshes; zero otherwise
	Sessions int           // logouts: how many sessions ended
	// Dependency and State: circuit events ("store" or "provider";
	// "open", "half-open" or "closed").
	Dependency string
	State      string
}
