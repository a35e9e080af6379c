package rd

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// MaxLen is the longest rd that [Policy.Check] accepts, in bytes (8 KiB).
const MaxLen = 8 << 10

// Policy says which absolute URLs rd may name. The zero value allows none.
// A Policy is read-only: Check may be called concurrently as long as
// nobody modifies Domains.
type Policy struct {
	// Domains lists the hosts rd may name, in ASCII (punycode for
	// internationalised names), case-insensitive:
	//
	//   - "example.com" matches the host example.com only;
	//   - ".example.com" matches every subdomain of example.com
	//     (a.example.com, a.b.example.com) but not example.com itself:
	//     list both to allow both.
	//
	// Matching is on label boundaries only: ".bar.foo" matches x.bar.foo
	// but never evilbar.foo (GHSA-4mf2-f3wh-gvf2), and "example.com" never
	// matches example.com.evil.com. An entry names a host, nothing else:
	// no scheme, port, path, "*", trailing dot or surrounding space. An
	// exact entry may also be a dotted-quad IPv4 address ("127.0.0.1").
	// Entries that break these rules never match; [Policy.Validate]
	// reports them. Default: empty, so every absolute rd is refused.
	Domains []string

	// InsecureAllowHTTP also accepts http URLs. Default false: only https,
	// so that the target cannot be read or changed on the way.
	InsecureAllowHTTP bool
}

// Validate reports the entries of Domains that can never match, so the
// proxy can refuse such a configuration at startup. It returns nil when
// every entry is valid, an empty list included.
func (p Policy) Validate() error {
	var errs []error
	for _, d := range p.Domains {
		if _, _, err := parseEntry(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Check returns rd as a URL when the policy allows the browser to be sent
// there, and an error otherwise; the package documentation lists the
// rules. The result is a fresh URL with a lower-case scheme and host and no
// fragment; its String method gives the Location to send. Error messages
// are for logs, not for the client.
func (p Policy) Check(rd string) (*url.URL, error) {
	if len(rd) > MaxLen {
		return nil, fmt.Errorf("rd: longer than %d bytes", MaxLen)
	}
	if err := checkBytes(rd); err != nil {
		return nil, err
	}
	scheme, rest, ok := strings.Cut(rd, "://")
	switch {
	case !ok || !isScheme(scheme):
		return nil, errors.New("rd: not an absolute http(s) URL")
	case strings.EqualFold(scheme, "https"):
		scheme = "https"
	case strings.EqualFold(scheme, "http") && p.InsecureAllowHTTP:
		scheme = "http"
	default:
		return nil, errors.New("rd: scheme not allowed")
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	host, err := parseAuthority(authority)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rd)
	if err != nil {
		return nil, errors.New("rd: not a valid URL")
	}
	// The same host for net/url as for the scan above, or a parser
	// differential: refuse.
	if u.Scheme != scheme || u.Host != authority || u.User != nil || u.Opaque != "" {
		return nil, errors.New("rd: ambiguous URL")
	}
	if !p.allows(host) {
		return nil, fmt.Errorf("rd: host %q is not in the allowed domains", host)
	}
	u.Host = strings.ToLower(authority)
	u.Fragment, u.RawFragment = "", ""
	return u, nil
}

// allows reports whether the lower-case host matches an entry of Domains.
func (p Policy) allows(host string) bool {
	for _, d := range p.Domains {
		base, wildcard, err := parseEntry(d)
		if err != nil {
			continue
		}
		if !wildcard {
			if host == base {
				return true
			}
			continue
		}
		// A subdomain: host ends in "." + base. host is a valid name, so
		// the dot is a label boundary. IPv4 hosts never match a wildcard:
		// parseEntry refuses wildcards with a numeric last label, and an
		// IPv4 host ends in one.
		if len(host) > len(base)+1 && host[len(host)-len(base)-1] == '.' && strings.HasSuffix(host, base) {
			return true
		}
	}
	return false
}

// parseEntry validates one entry of Domains and returns its lower-case
// host and whether it is a wildcard (".example.com").
func parseEntry(d string) (base string, wildcard bool, err error) {
	base = strings.ToLower(d)
	if rest, ok := strings.CutPrefix(base, "."); ok {
		base, wildcard = rest, true
	}
	ip, err := checkHost(base)
	switch {
	case err != nil:
		return "", false, fmt.Errorf("rd: domain %q: %w", d, err)
	case wildcard && ip:
		return "", false, fmt.Errorf("rd: domain %q: a wildcard cannot name an IP address", d)
	case wildcard && !strings.Contains(base, "."):
		return "", false, fmt.Errorf("rd: domain %q: a wildcard needs at least two labels", d)
	}
	return base, wildcard, nil
}

// isScheme reports whether s is an RFC 3986 scheme. Check compares it
// with "https" and "http" afterwards; this only keeps strings.Cut's "://"
// from being found after a path or query.
func isScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// checkBytes enforces the byte rules: printable ASCII from RFC 3986's
// character set, and a valid escape after every "%".
func checkBytes(s string) error {
	if s == "" {
		return errors.New("rd: empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return fmt.Errorf("rd: invalid escape at offset %d", i)
			}
			i += 2
		case c >= 0x80 || !uriByte[c]:
			return fmt.Errorf("rd: byte %#02x at offset %d not allowed", c, i)
		}
	}
	return nil
}

// uriByte holds the bytes RFC 3986 allows in a URI, "%" aside:
// unreserved, gen-delims and sub-delims.
var uriByte = func() (t [128]bool) {
	for c := byte(0); c < 128; c++ {
		t[c] = isAlpha(c) || isDigit(c)
	}
	for _, c := range "-._~" + ":/?#[]@" + "!$&'()*+,;=" {
		t[c] = true
	}
	return t
}()

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
