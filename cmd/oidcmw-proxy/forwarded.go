package main

import (
	"fmt"
	"net"
	"net/http/httputil"
	"net/netip"
	"slices"
)

// trustedProxies are the --trusted-proxy networks: the clients whose
// X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host and X-Real-IP the
// proxy believes. Empty (the default) trusts no one.
type trustedProxies []netip.Prefix

// parseTrustedProxy parses a CIDR ("10.0.0.0/8") or a single address.
func parseTrustedProxy(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("--trusted-proxy %q: want a CIDR such as 10.0.0.0/8 or an IP address", s)
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// contains reports whether remoteAddr (a request's RemoteAddr, host:port)
// is in a trusted network. IPv4-mapped IPv6 addresses count as IPv4,
// and an IPv6 zone is ignored.
func (t trustedProxies) contains(remoteAddr string) bool {
	if len(t) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	a = a.WithZone("").Unmap()
	return slices.ContainsFunc(t, func(p netip.Prefix) bool { return p.Contains(a) })
}

// setForwarded sets X-Forwarded-For, -Proto and -Host on the request to
// the upstream (httputil.ProxyRequest.SetXForwarded: the client's address,
// the Host it asked for, http). ReverseProxy has removed the inbound ones
// from pr.Out; a trusted proxy's are taken from pr.In: its X-Forwarded-For
// is extended with its own address, its -Proto and -Host are kept.
func (t trustedProxies) setForwarded(pr *httputil.ProxyRequest) {
	trusted := t.contains(pr.In.RemoteAddr)
	if prior := pr.In.Header["X-Forwarded-For"]; trusted && len(prior) > 0 {
		pr.Out.Header["X-Forwarded-For"] = slices.Clone(prior)
	}
	pr.SetXForwarded()
	if trusted {
		for _, k := range []string{"X-Forwarded-Proto", "X-Forwarded-Host"} {
			if v := pr.In.Header.Get(k); v != "" {
				pr.Out.Header.Set(k, v)
			}
		}
	}
}
