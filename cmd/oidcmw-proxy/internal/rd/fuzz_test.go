package rd

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCheck asserts what an accepted rd guarantees, whatever the input:
// an https URL (http only with InsecureAllowHTTP), no userinfo, no
// fragment, a host that is an entry of testPolicy or a label-boundary
// subdomain of a wildcard entry, and a String that parses back to the same
// scheme and host and is accepted again unchanged.
func FuzzCheck(f *testing.F) {
	for _, tc := range append(accepted, refused...) {
		f.Add(tc.rd, tc.insecure)
	}
	f.Fuzz(func(t *testing.T, rd string, insecure bool) {
		p := testPolicy
		p.InsecureAllowHTTP = insecure
		u, err := p.Check(rd)
		if err != nil {
			return
		}
		if u.Scheme != "https" && !(insecure && u.Scheme == "http") {
			t.Fatalf("Check(%q): scheme %q", rd, u.Scheme)
		}
		if u.User != nil || u.Opaque != "" || u.Fragment != "" || u.RawFragment != "" {
			t.Fatalf("Check(%q) = %#v: userinfo, opaque or fragment", rd, u)
		}
		host := u.Hostname()
		if u.Host != strings.ToLower(u.Host) {
			t.Fatalf("Check(%q): host %q not in lower case", rd, u.Host)
		}
		if !allowedByReference(host) {
			t.Fatalf("Check(%q): host %q not allowed", rd, host)
		}
		s := u.String()
		for i := 0; i < len(s); i++ {
			if c := s[i]; c <= ' ' || c >= 0x7f || c == '\\' {
				t.Fatalf("Check(%q) = %q: byte %#02x", rd, s, c)
			}
		}
		v, err := url.Parse(s)
		if err != nil {
			t.Fatalf("Check(%q) = %q: does not parse: %v", rd, s, err)
		}
		if v.Scheme != u.Scheme || v.Host != u.Host || v.Hostname() != host || v.User != nil {
			t.Fatalf("Check(%q) = %q: parses back to scheme %q, host %q", rd, s, v.Scheme, v.Host)
		}
		w, err := p.Check(s)
		if err != nil {
			t.Fatalf("Check(%q) = %q, refused the second time: %v", rd, s, err)
		}
		if w.String() != s {
			t.Fatalf("Check(%q) = %q, then %q", rd, s, w)
		}
	})
}

// allowedByReference is a second, naive implementation of the matching
// rules for testPolicy's valid entries.
func allowedByReference(host string) bool {
	switch host {
	case "example.com", "app.test", "127.0.0.1", "localhost":
		return true
	}
	for _, base := range []string{"example.com", "bar.foo"} {
		if sub, ok := strings.CutSuffix(host, "."+base); ok && sub != "" && !strings.HasPrefix(sub, ".") && !strings.HasSuffix(sub, ".") {
			return true
		}
	}
	return false
}
