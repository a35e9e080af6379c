package main

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestInboundDropped(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		pass, trusted, wantDrop bool
	}{
		{"X-Auth-Request-User", false, false, true},
		{"x-auth-request-user", false, false, true},
		{"X_auth_request_user", false, false, true},
		{"X-AUTH-REQUEST-EMAIL", false, false, true},
		{"X_Auth_Request_Email", false, false, true},
		{"X-Auth-Request-Preferred-Username", false, true, true},
		{"X-Auth-Request-Access-Token", true, true, true},
		{"Authorization", false, false, true},
		{"Authorization", true, false, false},
		{"X-Forwarded-For", false, false, true},
		{"X-Forwarded-For", false, true, false},
		{"X_forwarded_for", false, true, true},
		{"X-Forwarded-Proto", false, true, false},
		{"X-Forwarded-Host", false, true, false},
		{"X-Real-Ip", false, true, false},
		{"X-Real-Ip", false, false, true},
		{"X-Forwarded-Uri", false, true, true},
		{"X-Forwarded-User", false, true, true},
		{"X_Forwarded_Email", false, true, true},
		{"Forwarded", false, true, true},
		{"Accept", false, false, false},
		{"X-Auth-Requested", false, false, false},
		{"Cookie", false, false, false},
		{"X-Auth-Request-Jwt", false, true, true},
		{"X_auth_request_jwt", false, false, true},
		// Routing headers of some frameworks, and the original request of
		// a front end (kept from a trusted proxy with --forward-auth only,
		// below).
		{"X-Original-Url", false, true, true},
		{"X-Rewrite-Url", false, true, true},
		{"X-Original-Uri", false, true, true},
		{"X-Forwarded-Method", false, true, true},
	} {
		in := inbound{passAuthorization: tc.pass}
		if got := in.dropped(tc.name, tc.trusted); got != tc.wantDrop {
			t.Errorf("dropped(%q, pass %t, trusted %t) = %t, want %t", tc.name, tc.pass, tc.trusted, got, tc.wantDrop)
		}
	}
	// With --forward-auth, the original request's headers are kept from
	// a trusted proxy, in their canonical spelling.
	for _, tc := range []struct {
		name              string
		trusted, wantDrop bool
	}{
		{"X-Original-Uri", true, false},
		{"X-Original-Method", true, false},
		{"X-Forwarded-Uri", true, false},
		{"X-Forwarded-Method", true, false},
		{"X-Forwarded-For", true, false},
		{"X-Original-Uri", false, true},
		{"X-Forwarded-Method", false, true},
		{"X_original_uri", true, true},
		{"X-Original-Url", true, true},
		{"X-Forwarded-User", true, true},
		{"X-Auth-Request-User", true, true},
	} {
		in := inbound{forwardAuth: true}
		if got := in.dropped(tc.name, tc.trusted); got != tc.wantDrop {
			t.Errorf("--forward-auth: dropped(%q, trusted %t) = %t, want %t", tc.name, tc.trusted, got, tc.wantDrop)
		}
	}
}

func TestDropOwnCookies(t *testing.T) {
	for in, want := range map[string]string{
		"oidcmw=s": "",
		"app=1; oidcmw=s; oidcmw_login_ABCDEFGH=l":    "app=1",
		"__Host-oidcmw=s;__Host-oidcmw_login_X=l;b=2": "b=2",
		"oidcmwx=1; a=\"quoted\"":                     "oidcmwx=1; a=\"quoted\"",
		"__Secure-oidcmw_rd=x; oidcmw_rd=y; c=3":      "c=3",
		"a=1;;  b=2 ":                                 "a=1; b=2",
	} {
		h := http.Header{"Cookie": {in}}
		dropOwnCookies(h)
		if got := h.Get("Cookie"); got != want || (want == "" && len(h["Cookie"]) > 0) {
			t.Errorf("dropOwnCookies(%q) = %q, want %q", in, h["Cookie"], want)
		}
	}
}

func TestTrustedProxiesContains(t *testing.T) {
	var tp trustedProxies
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"} {
		p, err := parseTrustedProxy(s)
		if err != nil {
			t.Fatal(err)
		}
		tp = append(tp, p)
	}
	for addr, want := range map[string]bool{
		"10.1.2.3:5000":          true,
		"[::ffff:10.1.2.3]:5000": true,
		"192.0.2.7:1":            true,
		"192.0.2.8:1":            false,
		"[2001:db8::1]:1":        true,
		"[2001:db8::1%eth0]:1":   true,
		"127.0.0.1:1":            false,
		"not an address":         false,
	} {
		if got := tp.contains(addr); got != want {
			t.Errorf("contains(%q) = %t, want %t", addr, got, want)
		}
	}
	if (trustedProxies{}).contains("127.0.0.1:1") {
		t.Error("no --trusted-proxy trusts someone")
	}
	if _, err := parseTrustedProxy("10.0.0.0/33"); err == nil {
		t.Error("10.0.0.0/33 parsed")
	}
	if p, _ := parseTrustedProxy("10.1.2.3/8"); p != netip.MustParsePrefix("10.0.0.0/8") {
		t.Errorf("10.1.2.3/8 is %v", p)
	}
}
