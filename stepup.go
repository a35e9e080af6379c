package oidcmw

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Requirement is what a route asks of the user's authentication beyond
// being signed in (step-up).
type Requirement struct {
	// MaxAge, when positive, requires that the user authenticated at most
	// this long ago (auth_time, plus Options.ClockSkew).
	MaxAge time.Duration
	// ACRValues, when set, requires one of these authentication context
	// classes (acr), e.g. a provider's value for multi-factor.
	ACRValues []string
}

// Require returns a guard for routes that need req. It behaves like
// [Middleware.Guard] and, when the session does not meet req, starts a new
// login with max_age and acr_values for browser navigations (the callback
// then checks auth_time and acr) or answers API calls 401 with RFC 9470's
// WWW-Authenticate: Bearer error="insufficient_user_authentication".
func (m *Middleware) Require(req Requirement) func(http.Handler) http.Handler {
	req.ACRValues = slices.Clone(req.ACRValues)
	return func(next http.Handler) http.Handler { return m.guard(next, &req) }
}

// satisfies applies the same rule the callback applies to a step-up login,
// so that a login the callback accepted never loops back here.
func (m *Middleware) satisfies(rec *sessionRecord, req *Requirement) bool {
	if req.MaxAge > 0 {
		at := rec.id.AuthTime
		if at.IsZero() || at.Add(req.MaxAge).Add(m.opts.ClockSkew).Before(m.opts.Now()) {
			return false
		}
	}
	return len(req.ACRValues) == 0 || slices.Contains(req.ACRValues, rec.id.ACR)
}

// challenge is the RFC 9470 §3 WWW-Authenticate value.
func (req *Requirement) challenge() string {
	var b strings.Builder
	b.WriteString(`Bearer error="insufficient_user_authentication", error_description="a stronger or more recent authentication is required"`)
	if len(req.ACRValues) > 0 {
		b.WriteString(`, acr_values="` + strings.Join(req.ACRValues, " ") + `"`)
	}
	if req.MaxAge > 0 {
		b.WriteString(`, max_age=` + strconv.FormatInt(int64(req.MaxAge.Seconds()), 10))
	}
	return b.String()
}
