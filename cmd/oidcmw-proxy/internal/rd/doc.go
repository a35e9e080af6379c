// Package rd decides where GET /oauth2/start?rd= may send the browser
// after login when rd is an absolute URL (forward-auth mode, where the
// proxy and the protected applications live on different hosts).
//
// Relative targets ("/path?query") are not this package's business: the
// proxy hands them to oidcmw as return_to, whose own validator keeps them
// same-origin. [Policy.Check] refuses them, "//host" included.
//
// # Policy
//
// A [Policy] is an allow-list that fails closed (RFC 9700 §4.11.1: a client
// must not be an open redirector). Check accepts rd only when all of these
// hold, and otherwise returns an error:
//
//   - rd is at most [MaxLen] bytes of printable ASCII from the RFC 3986
//     character set (unreserved, reserved and "%"); each "%" starts a
//     valid escape. Control characters, whitespace, backslash, non-ASCII
//     bytes and the quote, "<", ">", "^", the backquote, "{", "|", "}" are
//     refused anywhere. Browsers strip tab, CR and LF and read "\" as "/",
//     so such bytes make parsers disagree on the host: a validator that
//     reads "https://evil.com\@app.example.com" as userinfo and host
//     app.example.com sends the browser to evil.com.
//   - rd starts with "https://" (any case), or "http://" with
//     [Policy.InsecureAllowHTTP]. This refuses "//evil.com", "https:/x",
//     "https:x", "https:///x" and "javascript:".
//   - The authority (everything up to the first "/", "?" or "#") is a host
//     name with an optional port, and nothing else: no userinfo ("@"), no
//     "%", no IPv6 literal, no underscore. Every label is 1 to 63 letters,
//     digits and hyphens, not starting or ending with a hyphen; the name is
//     at most 253 bytes. A host whose last label is a number (all digits,
//     or "0x" and hex digits: WHATWG URL parsers read such hosts as IPv4
//     addresses, "0x7f.1" included) must be a canonical dotted-quad IPv4
//     address and matches only an identical entry. The port, if present,
//     is 1 to 65535 without leading zeros; every port of an allowed host is
//     allowed.
//   - net/url parses rd to the same scheme and authority, with no userinfo
//     and no opaque part, so this package and the standard library agree on
//     the host.
//   - The host matches an entry of [Policy.Domains] on a label boundary,
//     see there.
//
// # Decisions
//
//   - Hosts are compared in lower case and in their ASCII form. No IDNA
//     library is available to the module, so a non-ASCII host
//     ("https://bücher.example.com") is refused instead of converted; write
//     it in punycode ("https://xn--bcher-kva.example.com"), which is what
//     browsers send in Host and X-Forwarded-Host anyway. The result's host
//     is lower-cased.
//   - A host with a trailing dot ("example.com.") is refused. Browsers
//     treat it as an origin of its own, without the proxy's cookies, and an
//     allow-list entry never carries one.
//   - A fragment is allowed (under the same byte rules) and dropped: the
//     returned URL has none. Browsers never send a fragment to the server,
//     so the forward-auth flow never produces one, and dropping it leaves
//     nothing after the path and query for parsers to disagree about. A
//     fragment never changes the host: "https://evil.com#.example.com" is
//     refused for its host, evil.com.
//   - Percent escapes in the path and query are kept as they are, %20 and
//     %2F included: they cannot change the host of an absolute URL, and
//     real query strings need them.
//   - There is no public-suffix check: ".co.uk" is accepted as an entry.
//     Only single-label wildcards (".com", ".localhost") are refused.
//
// Error messages are for logs: they may quote the host. Never send them to
// the client.
package rd
