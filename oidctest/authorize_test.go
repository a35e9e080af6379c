package oidctest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizeRefusesUnknownClientAndRedirect(t *testing.T) {
	s := newTestServer(t, Config{})
	s.AddClient(Client{ID: "strict", RedirectURIs: []string{"https://app.example/cb"}})
	tests := []struct{ name, client, redirect string }{
		{"unknown client", "ghost", testRedirect},
		{"unregistered redirect_uri", "strict", "https://app.example/cb2"},
		{"missing redirect_uri", DefaultClientID, ""},
		{"relative redirect_uri", DefaultClientID, "/cb"},
		{"redirect_uri with fragment", DefaultClientID, testRedirect + "#x"},
		{"javascript redirect_uri", DefaultClientID, "javascript:alert(1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(s)
			f.clientID, f.redirectURI = tt.client, tt.redirect
			resp, body := get(t, s, "/authorize?"+f.params().Encode(), nil)
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("got %d, Location %q; want 400 without redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
			if !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || len(body) == 0 {
				t.Errorf("want an HTML page, got %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

func TestAuthorizeErrorsAreRedirected(t *testing.T) {
	s := newTestServer(t, Config{})
	tests := []struct {
		name string
		edit func(url.Values)
		want string
	}{
		{"no openid scope", func(p url.Values) { p.Set("scope", "profile") }, "invalid_request"},
		{"plain PKCE", func(p url.Values) { p.Set("code_challenge_method", "plain") }, "invalid_request"},
		{"no PKCE method", func(p url.Values) { p.Del("code_challenge_method") }, "invalid_request"},
		{"no code_challenge", func(p url.Values) { p.Del("code_challenge") }, "invalid_request"},
		{"no response_type", func(p url.Values) { p.Del("response_type") }, "invalid_request"},
		{"implicit", func(p url.Values) { p.Set("response_type", "id_token") }, "unsupported_response_type"},
		{"response_mode fragment", func(p url.Values) { p.Set("response_mode", "fragment") }, "invalid_request"},
		{"repeated parameter", func(p url.Values) { p.Add("scope", "openid") }, "invalid_request"},
		{"bad max_age", func(p url.Values) { p.Set("max_age", "-1") }, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(s)
			f.edit = tt.edit
			p := f.authorize(t)
			wantEqual(t, "error", p.Get("error"), tt.want)
			wantEqual(t, "state", p.Get("state"), f.state)
			wantEqual(t, "iss", p.Get("iss"), s.URL)
			if p.Has("code") {
				t.Error("code issued")
			}
		})
	}
}

func TestAuthorizeByPOSTKeepsRedirectQuery(t *testing.T) {
	s := newTestServer(t, Config{})
	f := newFlow(s)
	f.redirectURI = testRedirect + "?tenant=a"
	resp, _ := post(t, s, "/authorize", f.params(), nil)
	wantEqual(t, "status", resp.StatusCode, http.StatusFound)
	loc, _ := url.Parse(resp.Header.Get("Location"))
	wantEqual(t, "tenant", loc.Query().Get("tenant"), "a")
	if status, _, body := f.redeem(t, loc.Query().Get("code")); status != http.StatusOK {
		t.Errorf("token: %d %v", status, body)
	}
}

func TestFormPost(t *testing.T) {
	s := newTestServer(t, Config{})
	f := newFlow(s)
	f.extra = url.Values{"response_mode": {"form_post"}}
	f.state = `"><script>alert(1)</script>&`
	resp, body := get(t, s, "/authorize?"+f.params().Encode(), nil)
	wantEqual(t, "status", resp.StatusCode, http.StatusOK)
	wantEqual(t, "Cache-Control", resp.Header.Get("Cache-Control"), "no-store")
	if !strings.Contains(string(body), "onload") || !strings.Contains(string(body), `method="post"`) {
		t.Errorf("not an auto-submitting form: %s", body)
	}
	if strings.Contains(string(body), "<script>alert") {
		t.Errorf("state not escaped: %s", body)
	}
	action, fields, err := ParseFormPost(strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "action", action, testRedirect)
	wantEqual(t, "state", fields.Get("state"), f.state)
	wantEqual(t, "iss", fields.Get("iss"), s.URL)
	status, _, tok := f.redeem(t, fields.Get("code"))
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, tok)
	}
	if p := s.Requests()[0]; p.Query.Get("response_mode") != "form_post" {
		t.Errorf("recorded %v", p.Query)
	}
}

func TestParseFormPost(t *testing.T) {
	page := `<html><BODY onload='document.forms[0].submit()'>
<FORM METHOD='POST' ACTION='https://rp.example/cb?a=1&amp;b=2'>
<input type=hidden name=code value=abc>
<input type="hidden" name='state' value="x&quot;y">
<input name="flag" value="">
<input type="submit" name="go" value="Go">
</FORM><form method="post" action="/other"><input name="no" value="no"></form>`
	action, fields, err := ParseFormPost(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "action", action, "https://rp.example/cb?a=1&b=2")
	want := url.Values{"code": {"abc"}, "state": {`x"y`}, "flag": {""}}
	if fields.Encode() != want.Encode() {
		t.Errorf("fields = %v, want %v", fields, want)
	}
	for _, bad := range []string{
		"<p>no form</p>",
		`<form action="/x"><input name="a" value="b"></form>`,
		`<form method="post"><input name="a" value="b"></form>`,
	} {
		if _, _, err := ParseFormPost(strings.NewReader(bad)); err == nil || !strings.HasPrefix(err.Error(), "oidctest: ") {
			t.Errorf("ParseFormPost(%q) error = %v", bad, err)
		}
	}
}

func TestLoginHintSelectsUser(t *testing.T) {
	for _, on := range []bool{false, true} {
		s := NewServer(Config{LoginHintSelectsUser: on})
		f := newFlow(s)
		f.extra = url.Values{"login_hint": {"bob"}}
		_, _, claims := f.idToken(t)
		want := "alice"
		if on {
			want = "bob"
		}
		if claims["sub"] != want {
			t.Errorf("LoginHintSelectsUser=%v: sub %v, want %s", on, claims["sub"], want)
		}
		s.Close()
	}
}
