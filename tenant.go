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

// expectedDiscoveryIssuer is what discovery's issuer must be.
func (m *Middleware) expectedDiscoveryIssuer() string {
	if m.opts.TenantIssuer != "" {
		return m.opts.TenantIssuer
	}
	return m.opts.Issuer
}

// tenantOf returns the tenant an issuer names under the template, and
// whether it matches the template at all.
func (m *Middleware) tenantOf(iss string) (string, bool) {
	prefix, suffix, _ := strings.Cut(m.opts.TenantIssuer, tenantPlaceholder)
	if !strings.HasPrefix(iss, prefix) || !strings.HasSuffix(iss, suffix) || len(iss) <= len(prefix)+len(suffix) {
		return "", false
	}
	tid := iss[len(prefix) : len(iss)-len(suffix)]
	return tid, !strings.ContainsAny(tid, "/?#")
}

// checkTenantIssuer applies the template to an ID token: iss must be the
// template with the token's tid, and tid an allowed tenant.
func (m *Middleware) checkTenantIssuer(iss, tid string) error {
	if m.opts.TenantIssuer == "" {
		return nil
	}
	got, ok := m.tenantOf(iss)
	switch {
	case !ok || tid == "" || got != tid:
		return fmt.Errorf("%w: iss %q is not the tenant issuer of tid %q", ErrInvalidIDToken, iss, tid)
	case len(m.opts.AllowedTenants) > 0 && !slices.Contains(m.opts.AllowedTenants, tid):
		return fmt.Errorf("%w: tenant %q is not allowed", ErrInvalidIDToken, tid)
	}
	return nil
}

// issuerParamOK checks an RFC 9207 iss parameter.
func (m *Middleware) issuerParamOK(p *provider, iss string) bool {
	if m.opts.TenantIssuer == "" {
		return iss == p.issuer
	}
	_, ok := m.tenantOf(iss)
	return ok
}
