package rd

import (
	"strings"
	"testing"
)

// testPolicy is the allow-list of the table and fuzz tests.
var testPolicy = Policy{Domains: []string{
	"example.com", ".example.com", // the host and its subdomains
	".bar.foo",      // GHSA-4mf2-f3wh-gvf2: subdomains of bar.foo only
	"App.Test",      // case-insensitive
	"127.0.0.1",     // an exact IPv4 entry
	"localhost",     // a single-label exact entry
	"*.wild.test",   // invalid: never matches
	"port.test:443", // invalid: never matches
}}

type checkTest struct {
	name     string
	rd       string
	want     string // "" means refused
	insecure bool   // InsecureAllowHTTP
}

func (tc checkTest) run(t *testing.T) {
	t.Helper()
	p := testPolicy
	p.InsecureAllowHTTP = tc.insecure
	u, err := p.Check(tc.rd)
	switch {
	case tc.want == "" && err == nil:
		t.Errorf("Check(%q) = %q, want an error", tc.rd, u)
	case tc.want != "" && err != nil:
		t.Errorf("Check(%q): %v, want %q", tc.rd, err, tc.want)
	case tc.want != "" && u.String() != tc.want:
		t.Errorf("Check(%q) = %q, want %q", tc.rd, u, tc.want)
	case err != nil && !strings.HasPrefix(err.Error(), "rd: "):
		t.Errorf("Check(%q): error %q lacks the rd: prefix", tc.rd, err)
	}
}

var accepted = []checkTest{
	{name: "exact host", rd: "https://example.com", want: "https://example.com"},
	{name: "exact host with path", rd: "https://example.com/a/b?c=d", want: "https://example.com/a/b?c=d"},
	{name: "subdomain", rd: "https://a.example.com/", want: "https://a.example.com/"},
	{name: "deep subdomain with port", rd: "https://a.b.example.com:8443/x", want: "https://a.b.example.com:8443/x"},
	{name: "upper case scheme and host", rd: "HTTPS://A.Example.COM/Path", want: "https://a.example.com/Path"},
	{name: "entry in upper case", rd: "https://app.test/", want: "https://app.test/"},
	{name: "label-boundary wildcard", rd: "https://x.bar.foo/", want: "https://x.bar.foo/"},
	{name: "fragment dropped", rd: "https://a.example.com/#/dashboard", want: "https://a.example.com/"},
	{name: "fragment with dot host text dropped", rd: "https://a.example.com/x#.evil.com", want: "https://a.example.com/x"},
	{name: "escapes kept", rd: "https://a.example.com/s%2Fx?q=a%20b&next=https://evil.com", want: "https://a.example.com/s%2Fx?q=a%20b&next=https://evil.com"},
	{name: "double slash path stays on host", rd: "https://a.example.com//evil.com", want: "https://a.example.com//evil.com"},
	{name: "at sign in path", rd: "https://a.example.com/@evil.com", want: "https://a.example.com/@evil.com"},
	{name: "empty query", rd: "https://a.example.com?", want: "https://a.example.com?"},
	{name: "query without path", rd: "https://a.example.com?x=1", want: "https://a.example.com?x=1"},
	{name: "ipv4 entry", rd: "https://127.0.0.1:4180/", want: "https://127.0.0.1:4180/"},
	{name: "single-label entry", rd: "https://localhost/", want: "https://localhost/"},
	{name: "punycode", rd: "https://xn--bcher-kva.example.com/", want: "https://xn--bcher-kva.example.com/"},
	{name: "highest port", rd: "https://a.example.com:65535/", want: "https://a.example.com:65535/"},
	{name: "http when allowed", rd: "http://a.example.com/", want: "http://a.example.com/", insecure: true},
	{name: "brackets in query", rd: "https://a.example.com/?a[]=1", want: "https://a.example.com/?a[]=1"},
	{name: "MaxLen bytes", rd: "https://a.example.com/" + strings.Repeat("a", MaxLen-len("https://a.example.com/")), want: "https://a.example.com/" + strings.Repeat("a", MaxLen-len("https://a.example.com/"))},
}

var refused = []checkTest{
	// Not absolute http(s) URLs: relative ones are the library's business.
	{name: "empty", rd: ""},
	{name: "relative path", rd: "/path"},
	{name: "scheme-relative", rd: "//evil.com"},
	{name: "scheme-relative to an allowed host", rd: "//a.example.com/"},
	{name: "triple slash", rd: "///evil.com"},
	{name: "slash backslash", rd: "/\\evil.com"},
	{name: "one slash", rd: "https:/evil.com"},
	{name: "no slash", rd: "https:evil.com"},
	{name: "no colon", rd: "https//a.example.com/"},
	{name: "three slashes", rd: "https:///evil.com"},
	{name: "backslashes after scheme", rd: "https:\\\\evil.com"},
	{name: "slash backslash slash", rd: "https:/\\/evil.com"},
	{name: "javascript", rd: "javascript:alert(1)"},
	{name: "javascript with authority", rd: "javascript://a.example.com/%0aalert(1)"},
	{name: "javascript before https", rd: "javascript:alert(1)//https://a.example.com/"},
	{name: "data", rd: "data:text/html,x"},
	{name: "ftp", rd: "ftp://a.example.com/"},
	{name: "http not allowed", rd: "http://a.example.com/"},

	// GHSA-4mf2-f3wh-gvf2 and mao's suffix match: label boundaries only.
	{name: "GHSA-4mf2 evilbar.foo over http", rd: "http://evilbar.foo", insecure: true},
	{name: "GHSA-4mf2 evilbar.foo", rd: "https://evilbar.foo/"},
	{name: "wildcard excludes its base", rd: "https://bar.foo/"},
	{name: "suffix without dot", rd: "https://evil-example.com/"},
	{name: "suffix without dot 2", rd: "https://notexample.com/"},
	{name: "allowed host as prefix", rd: "https://example.com.evil.com/"},
	{name: "allowed host as subdomain label", rd: "https://example.com.evil.com:443/"},
	{name: "not listed", rd: "https://evil.com/"},
	{name: "exact entry, no subdomains", rd: "https://a.app.test/"},
	{name: "invalid wildcard entry never matches", rd: "https://a.wild.test/"},
	{name: "invalid entry with port never matches", rd: "https://port.test/"},

	// Hosts that parse oddly.
	{name: "backslash before at", rd: "https://example.com\\@evil.com"},
	{name: "fragment before allowed text", rd: "https://evil.com#.example.com"},
	{name: "path before allowed text", rd: "https://evil.com/.example.com"},
	{name: "query before allowed text", rd: "https://evil.com?.example.com"},
	{name: "backslash before allowed text", rd: "https://evil.com\\.example.com"},
	{name: "backslash userinfo to allowed host", rd: "https://evil.com\\@a.example.com"},
	{name: "tab userinfo to allowed host", rd: "https://evil.com\t@a.example.com"},
	{name: "port and fragment at", rd: "https://evil.com:443#@a.example.com/"},
	{name: "port and query at", rd: "https://evil.com:80?@a.example.com/"},
	{name: "userinfo", rd: "https://user@a.example.com/"},
	{name: "userinfo with password", rd: "https://user:pw@a.example.com/"},
	{name: "allowed host as userinfo", rd: "https://a.example.com@evil.com"},
	{name: "allowed host and port as userinfo", rd: "https://a.example.com:443@evil.com/"},
	{name: "empty password", rd: "https://evil.com:@a.example.com/"},
	{name: "trailing dot", rd: "https://example.com./"},
	{name: "trailing dot subdomain", rd: "https://a.example.com./"},
	{name: "empty label", rd: "https://a..example.com/"},
	{name: "leading dot", rd: "https://.example.com/"},
	{name: "leading hyphen", rd: "https://-a.example.com/"},
	{name: "trailing hyphen", rd: "https://a-.example.com/"},
	{name: "underscore", rd: "https://a_b.example.com/"},
	{name: "long label", rd: "https://" + strings.Repeat("a", 64) + ".example.com/"},
	{name: "escaped dot in host", rd: "https://a.example%2ecom/"},
	{name: "escaped letter in host", rd: "https://%61.example.com/"},
	{name: "escaped ideographic full stop", rd: "https://evil.com%E3%80%82example.com/"},
	{name: "ipv6", rd: "https://[::1]/"},
	{name: "ipv4 not listed", rd: "https://1.2.3.4/"},
	{name: "hex ipv4", rd: "https://0x7f.0.0.1/"},
	{name: "short ipv4", rd: "https://127.1/"},
	{name: "octal ipv4", rd: "https://0177.0.0.1/"},
	{name: "integer ipv4", rd: "https://2130706433/"},
	{name: "numeric last label", rd: "https://a.example.com.123/"},
	{name: "hex last label", rd: "https://a.example.0x1f/"},
	{name: "port zero", rd: "https://a.example.com:0/"},
	{name: "port too high", rd: "https://a.example.com:65536/"},
	{name: "empty port", rd: "https://a.example.com:/"},
	{name: "leading zero port", rd: "https://a.example.com:08443/"},
	{name: "two ports", rd: "https://a.example.com:443:1/"},
	{name: "letters in port", rd: "https://a.example.com:abc/"},

	// Bytes.
	{name: "tab in path", rd: "https://a.example.com/\t"},
	{name: "tab in host", rd: "https://a.exa\tmple.com/"},
	{name: "tab after slashes", rd: "https://\t/evil.com"},
	{name: "leading space", rd: " https://a.example.com/"},
	{name: "space in path", rd: "https://a.example.com/ x"},
	{name: "CRLF", rd: "https://a.example.com\r\n/"},
	{name: "LF", rd: "https://a.example.com/\nx"},
	{name: "VT", rd: "https://a.example.com/\v"},
	{name: "NUL", rd: "https://a.example.com/\x00"},
	{name: "DEL", rd: "https://a.example.com/\x7f"},
	{name: "backslash in authority", rd: "https://a.example.com\\evil.com"},
	{name: "backslash in path", rd: "https://a.example.com/\\evil.com"},
	{name: "IDN host", rd: "https://bücher.example.com/"},
	{name: "fullwidth solidus", rd: "https://evil.com／.example.com/"},
	{name: "ideographic full stop", rd: "https://evil。example.com/"},
	{name: "non-ASCII path", rd: "https://a.example.com/café"},
	{name: "bad escape", rd: "https://a.example.com/%zz"},
	{name: "truncated escape", rd: "https://a.example.com/%4"},
	{name: "lone percent", rd: "https://a.example.com/?q=%"},
	{name: "angle brackets", rd: "https://a.example.com/<script>"},
	{name: "quote", rd: "https://a.example.com/\""},
	{name: "braces", rd: "https://a.example.com/{x}"},
	{name: "pipe", rd: "https://a.example.com/|"},
	{name: "caret", rd: "https://a.example.com/^"},
	{name: "backquote", rd: "https://a.example.com/`"},
	{name: "longer than MaxLen", rd: "https://a.example.com/" + strings.Repeat("a", MaxLen)},
}

func TestCheck(t *testing.T) {
	for _, tc := range accepted {
		t.Run("accept/"+tc.name, tc.run)
	}
	for _, tc := range refused {
		t.Run("refuse/"+tc.name, tc.run)
	}
}

// TestCheckAdvisories runs GHSA-4mf2-f3wh-gvf2 as reported: allow-list
// ".bar.foo", redirect "http://evilbar.foo".
func TestCheckAdvisories(t *testing.T) {
	p := Policy{Domains: []string{".bar.foo"}, InsecureAllowHTTP: true}
	for _, rd := range []string{"http://evilbar.foo", "http://evilbar.foo/", "http://bar.foo", "http://xbar.foo", "http://bar.foo.evil"} {
		if u, err := p.Check(rd); err == nil {
			t.Errorf("Check(%q) = %q, want an error", rd, u)
		}
	}
	for _, rd := range []string{"http://a.bar.foo", "http://a.b.bar.foo/x"} {
		if _, err := p.Check(rd); err != nil {
			t.Errorf("Check(%q): %v", rd, err)
		}
	}
}

func TestCheckZeroPolicy(t *testing.T) {
	if u, err := (Policy{}).Check("https://example.com/"); err == nil {
		t.Errorf("zero Policy: Check = %q, want an error", u)
	}
}

// TestCheckResultIsFresh asserts that two results do not share state.
func TestCheckResultIsFresh(t *testing.T) {
	a, err := testPolicy.Check("https://a.example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	a.Path = "/changed"
	b, err := testPolicy.Check("https://a.example.com/x")
	if err != nil {
		t.Fatal(err)
	}
	if b.Path != "/x" {
		t.Errorf("second result's path = %q", b.Path)
	}
}

func TestValidate(t *testing.T) {
	valid := []string{"example.com", ".example.com", "EXAMPLE.com", "localhost", "127.0.0.1", "xn--bcher-kva.de", ".co.uk", "a-b.c"}
	if err := (Policy{Domains: valid}).Validate(); err != nil {
		t.Errorf("Validate(%q): %v", valid, err)
	}
	if err := (Policy{}).Validate(); err != nil {
		t.Errorf("empty Domains: %v", err)
	}
	invalid := []string{
		"", ".", "..example.com", "*.example.com", "example.com:443", "https://example.com",
		"example.com/", "example.com.", " example.com", "example.com ", ".com", ".localhost",
		".127.0.0.1", "0x7f.1", "127.1", "[::1]", "::1", "bücher.de", "a_b.com", "-a.com", "a..b",
		"user@example.com",
	}
	for _, d := range invalid {
		err := (Policy{Domains: []string{"example.com", d}}).Validate()
		if err == nil {
			t.Errorf("Validate(%q) = nil, want an error", d)
			continue
		}
		if !strings.HasPrefix(err.Error(), "rd: domain ") {
			t.Errorf("Validate(%q) = %q, want the rd: domain prefix", d, err)
		}
	}
}
