package oidctest

import (
	"net/url"
	"slices"
	"strings"
)

// Resource indicators (RFC 8707).

// checkResources returns why the resource parameters are invalid, or "":
// each must be an absolute URI without a fragment (RFC 8707 §2).
func checkResources(resources []string) string {
	for _, r := range resources {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || strings.Contains(r, "#") {
			return "resource must be an absolute URI without a fragment"
		}
	}
	return ""
}

// grantResources returns the resources of an access token issued for a
// token request that asked for requested, from a grant authorized for
// granted: the requested ones, which must be among the granted ones when
// the authorization request named any (RFC 8707 §2.2), else the granted
// ones. desc says why the request is refused.
func grantResources(requested, granted []string) (resources []string, desc string) {
	if desc := checkResources(requested); desc != "" {
		return nil, desc
	}
	if len(requested) == 0 {
		return slices.Clone(granted), ""
	}
	if len(granted) > 0 {
		for _, r := range requested {
			if !slices.Contains(granted, r) {
				return nil, "resource was not part of the authorization"
			}
		}
	}
	return slices.Clone(requested), ""
}
