package oidcmw

import (
	"fmt"
	"slices"
	"strings"
)

// Multi-tenant Microsoft Entra ID: a named issuer quirk (see
// Options.TenantIssuer). Besides it and Google's issuer without the scheme
// (googleIssuer), issuers compare exactly.

const tenantPlaceholder = "{tenantid}"

// tenantRule is Options.TenantIssuer and AllowedTenants; the zero value
// means issuers compare exactly.
type tenantRule struct {
	template string
	allowed  []string
}

func (t tenantRule) on() bool { return t.template != "" }

// discoveryIssuer is what discovery's issuer must be, for Options.Issuer.
func (t tenantRule) discoveryIssuer(issuer string) string {
	if t.on() {
		return t.template
	}
	return issuer
}

// tenantOf returns the tenant an issuer names under the template, and
// whether it matches the template at all.
func (t tenantRule) tenantOf(iss string) (string, bool) {
	prefix, suffix, _ := strings.Cut(t.template, tenantPlaceholder)
	if !strings.HasPrefix(iss, prefix) || !strings.HasSuffix(iss, suffix) || len(iss) <= len(prefix)+len(suffix) {
		return "", false
	}
	tid := iss[len(prefix) : len(iss)-len(suffix)]
	return tid, !strings.ContainsAny(tid, "/?#")
}

// check applies the template to an ID token: iss must be the template with
// the token's tid, and tid an allowed tenant.
func (t tenantRule) check(iss, tid string) error {
	if !t.on() {
		return nil
	}
	got, ok := t.tenantOf(iss)
	switch {
	case !ok || tid == "" || got != tid:
		return fmt.Errorf("%w: iss %q is not the tenant issuer of tid %q", ErrInvalidIDToken, iss, tid)
	case len(t.allowed) > 0 && !slices.Contains(t.allowed, tid):
		return fmt.Errorf("%w: tenant %q is not allowed", ErrInvalidIDToken, tid)
	}
	return nil
}

// issuerParamOK checks an RFC 9207 iss parameter against the provider's
// issuer.
func (t tenantRule) issuerParamOK(issuer, iss string) bool {
	if !t.on() {
		return iss == issuer
	}
	_, ok := t.tenantOf(iss)
	return ok
}

// owns reports whether a session issued by iss belongs to the middleware
// of issuer. It needs no discovery: discovery's issuer is checked to be
// issuer (or the template).
func (t tenantRule) owns(issuer, iss string) bool {
	if t.on() {
		_, ok := t.tenantOf(iss)
		return ok
	}
	return iss == issuer
}
