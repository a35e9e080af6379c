package oidcmw

// maxReturnToLen caps the length of a return_to target. Longer values are
// replaced by "/": real application paths are far shorter, and the cap
// bounds what we store per pending login.
const maxReturnToLen = 2048

// safeReturnTo returns raw when it is a same-origin relative reference that
// every browser resolves to the application's own origin, and "/" otherwise.
// An accepted value is returned unchanged, without allocating.
//
// The policy is an allow-list that fails closed (RFC 9700 §4.11.1: a client
// must not be an open redirector). raw is accepted only when all of these
// hold:
//
//   - it is at most 2048 bytes long and starts with "/";
//   - every byte is printable ASCII from the RFC 3986 sets for its part:
//     path bytes are pchar or "/", query and fragment bytes are pchar, "/",
//     "?", "[" or "]". Control characters, space, backslash, non-ASCII
//     bytes (fullwidth solidus, the CJK look-alikes "〱 〵 ゝ ー ｰ"), the
//     quote, "<", ">", "^", the backquote, "{", "|" and "}" are rejected
//     anywhere. Browsers strip tab, CR and LF and read "\" as "/", so
//     "/\t/evil.com" and "/\evil.com" would otherwise become "//evil.com";
//   - every "%" starts a valid escape, and no escape anywhere decodes to a
//     control character, space or backslash (%00, %09, %0a, %0b, %0d, %20,
//     %5c, ...). Servers and proxies that decode once must not be able to
//     turn the value into one of the forms above. Use "+" for spaces in a
//     query: "/search?q=%20hello" is replaced by "/";
//   - the path (before "?" or "#") contains neither "//" nor ":", literal
//     or encoded (%2f, %3a): this rules out "//host", "/http://host",
//     "/javascript:" and "/%2f%2fhost";
//   - no path segment is a dot segment ("." or "..", with "%2e" counted as
//     "."), so nothing like "/./\evil.com", "/.//evil.com" or
//     "/a/../../x" can be resolved into "//".
//
// Deliberately accepted, because no browser resolves them off-origin:
// percent-encoded letters and other harmless bytes ("/%68ttps:x" is
// rejected for its ":", but "/%68ome" is the path "/%68ome"), escapes of
// non-ASCII bytes ("/caf%C3%A9"), and double encoding ("/%252F%252Fevil.com"
// is the literal path "/%2F%2Fevil.com", which neither browsers nor
// net/http decode again). The query and fragment may contain "//" and ":"
// ("/a?next=https://x"): they cannot change the origin of the target.
func safeReturnTo(raw string) string {
	if len(raw) == 0 || len(raw) > maxReturnToLen || raw[0] != '/' {
		return "/"
	}
	const (
		inPath = iota
		inQuery
		inFragment
	)
	part := inPath
	segStart := 1 // index of the first byte of the current path segment
	for i := 1; i <= len(raw); i++ {
		if part == inPath && (i == len(raw) || raw[i] == '/' || raw[i] == '?' || raw[i] == '#') {
			// End of the path segment raw[segStart:i].
			if isDotSegment(raw[segStart:i]) {
				return "/"
			}
			if i < len(raw) && raw[i] == '/' && i == segStart {
				return "/" // "//": an empty segment
			}
			segStart = i + 1
		}
		if i == len(raw) {
			break
		}
		c := raw[i]
		switch {
		case c == '%':
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return "/"
			}
			d := unhex(raw[i+1])<<4 | unhex(raw[i+2])
			if d <= ' ' || d == 0x7f || d == '\\' {
				return "/"
			}
			if part == inPath && (d == '/' || d == ':') {
				return "/"
			}
			i += 2
		case c == '?' && part == inPath:
			part = inQuery
		case c == '#' && part != inFragment:
			part = inFragment
		case c >= 0x80 || returnToClass[c] == 0:
			return "/"
		case part == inPath && returnToClass[c] != pathByte:
			return "/"
		}
	}
	return raw
}

// Byte classes for safeReturnTo. Bytes outside both classes are rejected.
const (
	pathByte  = 1 // allowed everywhere: RFC 3986 pchar except ":" and "%", plus "/"
	queryByte = 2 // allowed in the query and fragment only
)

// returnToClass maps each ASCII byte to its class. "%", "?" and "#" are
// handled before the table is consulted.
var returnToClass = func() (t [128]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = pathByte
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = pathByte
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = pathByte
	}
	for _, c := range "-._~!$&'()*+,;=@/" {
		t[c] = pathByte
	}
	for _, c := range ":?[]" {
		t[c] = queryByte
	}
	return t
}()

// isDotSegment reports whether seg is "." or "..", where "%2e" (either case)
// counts as ".", as in the WHATWG URL standard's path parser.
func isDotSegment(seg string) bool {
	dots := 0
	for i := 0; i < len(seg); i++ {
		switch {
		case seg[i] == '.':
		case seg[i] == '%' && i+2 < len(seg) && seg[i+1] == '2' && (seg[i+2] == 'e' || seg[i+2] == 'E'):
			i += 2
		default:
			return false
		}
		dots++
		if dots > 2 {
			return false
		}
	}
	return dots > 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
