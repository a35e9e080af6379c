package rd

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// parseAuthority checks the authority of rd: a host name or IPv4 address,
// and an optional port. It returns the host in lower case.
func parseAuthority(authority string) (string, error) {
	if authority == "" {
		return "", errors.New("rd: no host")
	}
	if strings.ContainsAny(authority, "@%[]") {
		return "", errors.New("rd: authority holds more than a host and a port")
	}
	host, port, hasPort := strings.Cut(authority, ":")
	if hasPort && !validPort(port) {
		return "", errors.New("rd: invalid port")
	}
	host = strings.ToLower(host)
	if _, err := checkHost(host); err != nil {
		return "", fmt.Errorf("rd: host %q: %w", host, err)
	}
	return host, nil
}

// validPort reports whether p is a decimal port from 1 to 65535 without a
// leading zero.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// checkHost checks a lower-case host: a DNS name of letters, digits and
// hyphens (RFC 1123 §2.1), or a canonical IPv4 address, which it reports.
func checkHost(h string) (ip bool, err error) {
	switch {
	case h == "":
		return false, errors.New("empty host")
	case len(h) > 253:
		return false, errors.New("longer than 253 bytes")
	case strings.HasSuffix(h, "."):
		return false, errors.New("trailing dot")
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return false, err
		}
	}
	if !isNumber(labels[len(labels)-1]) {
		return false, nil
	}
	// WHATWG URL parsers read a host ending in a number as IPv4, in
	// decimal, octal or hex ("0x7f.1", "0177.0.0.1", "2130706433"). Only
	// the canonical form is unambiguous.
	a, err := netip.ParseAddr(h)
	if err != nil || !a.Is4() || a.String() != h {
		return false, errors.New("ends in a number but is not a dotted-quad IPv4 address")
	}
	return true, nil
}

// checkLabel checks one label of a lower-case host name.
func checkLabel(l string) error {
	switch {
	case l == "":
		return errors.New("empty label")
	case len(l) > 63:
		return errors.New("label longer than 63 bytes")
	case l[0] == '-' || l[len(l)-1] == '-':
		return errors.New("label starts or ends with a hyphen")
	}
	for i := 0; i < len(l); i++ {
		if c := l[i]; !('a' <= c && c <= 'z' || isDigit(c) || c == '-') {
			return fmt.Errorf("byte %q not allowed in a host name", c)
		}
	}
	return nil
}

// isNumber reports whether the WHATWG URL standard's IPv4 parser reads
// label as a number: decimal digits, or "0x"/"0X" and hex digits.
func isNumber(label string) bool {
	if rest, ok := strings.CutPrefix(strings.ToLower(label), "0x"); ok {
		for i := 0; i < len(rest); i++ {
			if !isHex(rest[i]) {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(label); i++ {
		if !isDigit(label[i]) {
			return false
		}
	}
	return label != ""
}
