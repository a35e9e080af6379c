package oidcmw

import (
	"net/url"
	"strings"
	"testing"
)

// returnToTests lists inputs from the advisories in ANCHORS.md §3b and the
// public open-redirect payload lists, with the expected result. want == ""
// means the input must be accepted unchanged.
var returnToTests = []struct {
	name string
	in   string
	want string
}{
	// Accepted: same-origin paths, kept as they are.
	{"root", "/", ""},
	{"path", "/dashboard", ""},
	{"nested path", "/a/b/c", ""},
	{"trailing slash", "/a/b/", ""},
	{"query and fragment", "/a/b?x=1&y=2#frag", ""},
	{"query only", "/?x=1", ""},
	{"fragment only", "/#top", ""},
	{"plus for space in query", "/search?q=+hello", ""},
	{"encoded slash in query", "/login?next=%2Fdashboard", ""},
	{"absolute URL in query", "/a?next=https://evil.com", ""},
	{"double slash in fragment", "/a#//evil.com", ""},
	{"brackets in query", "/items?filter[name]=x", ""},
	{"dot file", "/.well-known/x", ""},
	{"leading dot in segment", "/.example.com", ""},
	{"three dots", "/a/...", ""},
	{"at sign", "/@evil.com", ""},
	{"sub-delims", "/a-b_c~d!$&'()*+,;=", ""},
	{"utf-8 escapes", "/caf%C3%A9", ""},
	// "/%68ome" is the path "/%68ome" ("/home" after one decoding): a
	// path-absolute reference cannot gain a scheme by decoding letters.
	{"encoded letter", "/%68ome", ""},
	// Double encoding is a literal "%" in the path; browsers and net/http
	// decode once, giving the harmless path "/%2F%2Fevil.com".
	{"double encoded slashes", "/%252F%252Fevil.com", ""},
	{"max length", "/" + strings.Repeat("a", maxReturnToLen-1), ""},

	// Not a path.
	{"empty", "", "/"},
	{"relative", "dashboard", "/"},
	{"absolute https", "https://evil.com", "/"},
	{"scheme without slashes", "http:evil.com", "/"},
	{"javascript", "javascript:alert(1)", "/"},
	{"control then javascript", "%01javascript:alert(1)", "/"},
	{"query first", "?x=/evil.com", "/"},
	{"fragment first", "#/evil.com", "/"},
	{"backslashes", `\\evil.com`, "/"},
	{"backslash slash", `\/evil.com`, "/"},

	// CVE-2022-24794 (express-openid-connect): protocol-relative.
	{"CVE-2022-24794 //", "//google.com", "/"},
	{"CVE-2022-24794 ///", "///google.com", "/"},
	{"double slash later", "/a//evil.com", "/"},

	// GHSA-qqxw-m5fj-f7gv (oauth2-proxy), CVE-2021-32786 (mod_auth_openidc).
	{"GHSA-qqxw-m5fj-f7gv", `/\evil.com`, "/"},
	{"CVE-2021-32786", `/\evil.com`, "/"},
	{"backslash later", `/a\b`, "/"},
	{"slash backslash slash", `/\/evil.com/`, "/"},

	// GHSA-j7px-6hwj-hpjg (oauth2-proxy): whitespace before "/" or "\".
	{"space slash", "/ /evil.com", "/"},
	{"space backslash", `/ \evil.com`, "/"},
	{"tab slash", "/\t/evil.com", "/"},
	{"VT slash", "/\v/evil.com", "/"},
	{"LF slash", "/\n/evil.com", "/"},
	{"CR slash", "/\r/evil.com", "/"},
	{"FF slash", "/\f/evil.com", "/"},
	{"tab backslash", "/\t\\evil.com", "/"},
	{"encoded tab", "/%09/evil.com", "/"},
	{"encoded LF", "/%0a/evil.com", "/"},
	{"encoded LF upper", "/%0A/evil.com", "/"},
	{"encoded CR", "/%0d/evil.com", "/"},
	{"encoded VT", "/%0b/evil.com", "/"},
	{"encoded space", "/%20/evil.com", "/"},
	{"encoded NUL", "/a%00b", "/"},
	{"encoded DEL", "/a%7f", "/"},
	// All whitespace escapes are rejected, in the query too, for simplicity.
	{"encoded space in query", "/search?q=%20hello", "/"},
	{"tab in query", "/a?b=\t", "/"},
	{"LF in fragment", "/a#\n", "/"},

	// GHSA-5m6c-jp6f-2vcv (oauth2-proxy): tabs and dot segments.
	{"tabs", "/\t\t/\t/evil.com", "/"},
	{"dot backslash", `/./\evil.com`, "/"},
	{"dot dot backslash", `/./../../\evil.com`, "/"},
	{"dot double slash", "/.//evil.com", "/"},
	{"dot segment", "/a/./b", "/"},
	{"dot dot segment", "/a/../b", "/"},
	{"final dot", "/a/.", "/"},
	{"final dot dot", "/a/..", "/"},
	{"only dot", "/.", "/"},
	{"only dot dot", "/..", "/"},
	{"dot before query", "/a/.?x", "/"},
	{"encoded dot", "/%2e/evil.com", "/"},
	{"encoded dot dot", "/%2E%2e/evil.com", "/"},
	{"mixed dot dot", "/.%2e/evil.com", "/"},

	// CVE-2022-23527 (mod_auth_openidc): literal tab.
	{"CVE-2022-23527", "/\t/example.com", "/"},

	// mod_auth_openidc deny-list substrings.
	{"mao %09", "/%09", "/"},
	{"mao %2f", "/%2f", "/"},
	{"mao %2F", "/%2F", "/"},
	{"mao tab", "/\t", "/"},
	{"mao %68ttp", "/%68ttp://evil.com", "/"},
	{"mao %68ttps with colon", "/%68ttps:evil.com", "/"},
	{"mao http", "/http://evil.com", "/"},
	{"mao http no slashes", "/http:evil.com", "/"},
	{"mao https", "/https://evil.com", "/"},
	{"mao javascript", "/javascript:alert(1)", "/"},
	{"mao lt", "/<>//evil.com", "/"},
	{"mao lt script", "/<script>", "/"},
	{"mao %5c", "/%5cevil.com", "/"},
	{"mao %5C", "/%5Cevil.com", "/"},
	{"mao backslash", `/\`, "/"},
	{"encoded colon", "/javascript%3aalert(1)", "/"},
	{"encoded slashes", "/%2F%2Fevil.com", "/"},
	{"encoded slash later", "/a/%2f/evil.com", "/"},
	{"encoded backslash in query", "/a?b=%5c", "/"},

	// Look-alikes and other non-ASCII.
	{"CJK 3031", "/〱evil.com", "/"},
	{"CJK 3035", "/〵evil.com", "/"},
	{"CJK 309D", "/ゝevil.com", "/"},
	{"CJK 30FC", "/ーevil.com", "/"},
	{"halfwidth FF70", "/ｰevil.com", "/"},
	{"fullwidth solidus", "/／evil.com", "/"},
	{"fullwidth reverse solidus", "/＼evil.com", "/"},
	{"non-ASCII in query", "/a?q=é", "/"},
	{"ideographic full stop escaped in host-like path", "//google%E3%80%82com", "/"},

	// Other characters outside the allow-list.
	{"double quote", `/";alert(0);//`, "/"},
	{"pipe", "/a|b", "/"},
	{"second fragment", "/a#b#c", "/"},
	{"DEL", "/a\x7f", "/"},
	{"NUL", "/a\x00", "/"},

	// Invalid percent-encoding.
	{"lone percent", "/100%", "/"},
	{"short escape", "/a%2", "/"},
	{"bad hex", "/a%zz", "/"},
	{"bad hex in query", "/a?b=%g0", "/"},

	// Length.
	{"too long", "/" + strings.Repeat("a", maxReturnToLen), "/"},
	{"3000 bytes", "/" + strings.Repeat("abc/", 750)[:2999], "/"},
}

func TestSafeReturnTo(t *testing.T) {
	for _, tt := range returnToTests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got := safeReturnTo(tt.in); got != want {
				t.Errorf("safeReturnTo(%q) = %q, want %q", tt.in, got, want)
			}
			checkReturnTo(t, tt.in, safeReturnTo(tt.in))
		})
	}
}

func TestSafeReturnToAllocs(t *testing.T) {
	in := "/a/b?x=1&y=2#frag"
	if n := testing.AllocsPerRun(100, func() { safeReturnTo(in) }); n != 0 {
		t.Errorf("safeReturnTo allocates %v times per call, want 0", n)
	}
}

func FuzzSafeReturnTo(f *testing.F) {
	for _, tt := range returnToTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkReturnTo(t, in, safeReturnTo(in))
	})
}

// checkReturnTo asserts the properties every result of safeReturnTo must
// have: it is "/" or in itself, a path-absolute reference that resolves
// to the base origin, also after one round of percent-decoding.
func checkReturnTo(t *testing.T, in, out string) {
	t.Helper()
	if out == "/" {
		return
	}
	if out != in {
		t.Fatalf("safeReturnTo(%q) = %q, want the input or \"/\"", in, out)
	}
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") || strings.HasPrefix(out, `/\`) {
		t.Fatalf("safeReturnTo(%q) = %q, not a single-slash path", in, out)
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			t.Fatalf("safeReturnTo(%q) = %q, contains byte %#x", in, out, c)
		}
	}
	u, err := url.Parse(out)
	if err != nil {
		t.Fatalf("safeReturnTo(%q) = %q, which net/url rejects: %v", in, out, err)
	}
	if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		t.Fatalf("safeReturnTo(%q) = %q, parsed as %#v", in, out, u)
	}
	base, _ := url.Parse("https://app.example/base/")
	r := base.ResolveReference(u)
	if r.Scheme != "https" || r.Host != "app.example" || strings.HasPrefix(r.Path, "//") {
		t.Fatalf("safeReturnTo(%q) = %q, resolves to %q", in, out, r)
	}
	// A server or proxy that decodes once must still see a same-origin path.
	if dec, err := url.PathUnescape(out); err == nil {
		if strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\\t\n\r\v\f\x00 ") {
			t.Fatalf("safeReturnTo(%q) = %q, decodes to %q", in, out, dec)
		}
	}
}
