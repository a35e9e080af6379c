package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestRDCookie: the rd cookie gives back what was set, until it expires;
// a cookie altered, made under another secret or for the other scheme's
// name gives nothing.
func TestRDCookie(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	c := newRDCookie([]byte(strings.Repeat("k", 32)), false)
	c.now = func() time.Time { return now }
	const target = "https://app.example.com/x?a=1&b=%2F"
	w := httptest.NewRecorder()
	c.set(w, target)
	set := w.Result().Cookies()
	if len(set) != 1 || set[0].Name != "oidcmw_rd" || !set[0].HttpOnly || set[0].Secure ||
		set[0].SameSite != http.SameSiteLaxMode || set[0].Path != "/oauth2/" || set[0].MaxAge != 600 {
		t.Fatalf("cookie %+v", set)
	}
	value := set[0].Value
	read := func(c rdCookie, name, value string) (string, bool) {
		r := httptest.NewRequest(http.MethodGet, "/oauth2/continue", nil)
		r.Header.Set("Cookie", name+"="+value)
		return c.get(r)
	}
	if got, ok := read(c, "oidcmw_rd", value); !ok || got != target {
		t.Fatalf("get: %q %t", got, ok)
	}
	// A cookie of the same name planted first (another path) does not
	// hide the real one.
	r := httptest.NewRequest(http.MethodGet, "/oauth2/continue", nil)
	r.Header.Set("Cookie", "oidcmw_rd=planted; oidcmw_rd="+value)
	if got, ok := c.get(r); !ok || got != target {
		t.Errorf("with a planted cookie first: %q %t", got, ok)
	}

	other := newRDCookie([]byte(strings.Repeat("x", 32)), false)
	other.now = c.now
	secure := newRDCookie([]byte(strings.Repeat("k", 32)), true)
	secure.now = c.now
	if secure.name != "__Secure-oidcmw_rd" {
		t.Errorf("https name %q", secure.name)
	}
	later := c
	later.now = func() time.Time { return now.Add(rdCookieTTL) }
	for _, tc := range []struct {
		name, cookie, value string
		c                   rdCookie
	}{
		{"another secret", "oidcmw_rd", value, other},
		{"the https name", "__Secure-oidcmw_rd", value, secure},
		{"expired", "oidcmw_rd", value, later},
		{"altered target", "oidcmw_rd", "x" + value, c},
		{"altered expiry", "oidcmw_rd", strings.Replace(value, ".18", ".28", 1), c},
		{"altered MAC", "oidcmw_rd", value[:len(value)-1] + "A", c},
		{"no MAC", "oidcmw_rd", value[:strings.LastIndexByte(value, '.')], c},
		{"empty", "oidcmw_rd", "", c},
	} {
		if got, ok := read(tc.c, tc.cookie, tc.value); ok {
			t.Errorf("%s: got %q", tc.name, got)
		}
	}
	w = httptest.NewRecorder()
	c.clear(w)
	if ck := w.Result().Cookies(); len(ck) != 1 || ck[0].MaxAge >= 0 || ck[0].Path != "/oauth2/" {
		t.Errorf("clear: %+v", ck)
	}
}
