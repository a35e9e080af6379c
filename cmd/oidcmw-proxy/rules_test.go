package main

import (
	"strings"
	"testing"
)

func TestEmailDomain(t *testing.T) {
	for _, tc := range []struct {
		email, domain string
		ok            bool
	}{
		{"alice@company.com", "company.com", true},
		{"attacker@evil.com@company.com", "", false},
		{"@company.com", "", false},
		{"alice@", "", false},
		{"company.com", "", false},
		{"", "", false},
	} {
		if d, ok := emailDomain(tc.email); d != tc.domain || ok != tc.ok {
			t.Errorf("emailDomain(%q) = %q, %t, want %q, %t", tc.email, d, ok, tc.domain, tc.ok)
		}
	}
}

// TestRulesAllow: the rules are alternatives; no rule lets everyone in.
func TestRulesAllow(t *testing.T) {
	rs := rules{domains: []string{"company.com", "kiosk.test"}, groups: []string{"admins"}, subjects: []string{"carol"}}
	for _, tc := range []struct {
		name  string
		rules rules
		user  user
		want  bool
	}{
		{"no rules", rules{}, user{subject: "anyone"}, true},
		{"domain", rs, user{subject: "a", email: "a@Company.COM", emailVerified: true}, true},
		{"domain, unverified", rs, user{subject: "a", email: "a@company.com"}, false},
		{"two @", rs, user{subject: "a", email: "a@evil.com@company.com", emailVerified: true}, false},
		{"subdomain", rs, user{subject: "a", email: "a@x.company.com", emailVerified: true}, false},
		{"Kelvin sign", rs, user{subject: "a", email: "a@\u212aiosk.test", emailVerified: true}, false},
		{"long s", rs, user{subject: "a", email: "a@kio\u017fk.test", emailVerified: true}, false},
		{"group", rs, user{subject: "b", groups: []string{"dev", "admins"}}, true},
		{"other group", rs, user{subject: "b", groups: []string{"dev"}}, false},
		{"subject", rs, user{subject: "carol"}, true},
		{"subject and failed domain", rs, user{subject: "carol", email: "c@evil.com", emailVerified: true}, true},
		{"nothing matches", rs, user{subject: "dan", email: "d@evil.com", emailVerified: true}, false},
	} {
		if got := tc.rules.allow(&tc.user); got != tc.want {
			t.Errorf("%s: allow = %t, want %t", tc.name, got, tc.want)
		}
	}
	// What asciiLower guards against.
	if !strings.EqualFold("\u212aiosk.test", "kiosk.test") || asciiLower("\u212aIOSK.test") != "\u212aiosk.test" {
		t.Error("asciiLower folds more or less than ASCII")
	}
}

func TestStringOrStrings(t *testing.T) {
	for raw, want := range map[string]string{
		`"admins"`:               "admins",
		`["a","b",1,null,"c"]`:   "a|b|c",
		`{"a":1}`:                "",
		`7`:                      "",
		``:                       "",
		`["x,y","z"]`:            "x,y|z",
		`[]`:                     "",
		`"with\nnewline"`:        "with\nnewline",
		`["admins",["nested"]]`:  "admins",
		`[true,"admins",false]`:  "admins",
		`"   spaced   "`:         "   spaced   ",
		`["",  "empty-sibling"]`: "|empty-sibling",
	} {
		if got := strings.Join(stringOrStrings([]byte(raw)), "|"); got != want {
			t.Errorf("stringOrStrings(%s) = %q, want %q", raw, got, want)
		}
	}
	if got := headerList([]string{"a", "", "x,y", "with\nnewline", "tab\there", "b"}); got != "a,b" {
		t.Errorf("headerList = %q", got)
	}
}
