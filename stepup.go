package oidcmw

import (
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

// satisfiedBy applies the same rule the callback applies to a step-up
// login, so that a login the callback accepted never loops back here.
func (req *Requirement) satisfiedBy(id *Identity, skew time.Duration, now time.Time) bool {
	if req.MaxAge > 0 {
		at := id.AuthTime
		if at.IsZero() || at.Add(req.MaxAge).Add(skew).Before(now) {
			return false
		}
	}
	return len(req.ACRValues) == 0 || slices.Contains(req.ACRValues, id.ACR)
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
