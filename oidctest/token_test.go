package oidctest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func wantOAuthError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Errorf("got %d %v, want %d error=%s", status, body, wantStatus, wantCode)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Errorf("no error_description in %v", body)
	}
}

func TestCodeReplay(t *testing.T) {
	s := newTestServer(t, Config{})
	f := newFlow(s)
	code := f.code(t)
	status, _, first := f.redeem(t, code)
	if status != http.StatusOK {
		t.Fatalf("first redemption: %d %v", status, first)
	}
	status, _, body := f.redeem(t, code)
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	if strings.Contains(body["error_description"].(string), code) {
		t.Error("error_description echoes the code")
	}
	// RFC 6749 §4.1.2: tokens issued from a replayed code are revoked.
	resp, _ := get(t, s, "/userinfo", func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer "+first["access_token"].(string))
	})
	wantEqual(t, "userinfo after replay", resp.StatusCode, http.StatusUnauthorized)
}

func TestCodeRedemptionErrors(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newTestServer(t, Config{Now: clk.Now})
	s.AddClient(Client{ID: "other", Secret: "x"})
	tests := []struct {
		name   string
		edit   func(form url.Values)
		auth   func(*http.Request)
		before func()
	}{
		{name: "wrong verifier", edit: func(f url.Values) { f.Set("code_verifier", strings.Repeat("a", 43)) }},
		{name: "missing verifier", edit: func(f url.Values) { f.Del("code_verifier") }},
		{name: "challenge as verifier", edit: func(f url.Values) { f.Set("code_verifier", challenge(f.Get("code_verifier"))) }},
		{name: "redirect_uri mismatch", edit: func(f url.Values) { f.Set("redirect_uri", testRedirect+"/other") }},
		{name: "missing redirect_uri", edit: func(f url.Values) { f.Del("redirect_uri") }},
		{name: "unknown code", edit: func(f url.Values) { f.Set("code", "nope") }},
		{name: "other client", auth: basicAuth("other", "x")},
		{name: "expired", before: func() { clk.Add(61 * time.Second) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(s)
			form := url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {f.code(t)},
				"redirect_uri":  {f.redirectURI},
				"code_verifier": {f.verifier},
			}
			if tt.edit != nil {
				tt.edit(form)
			}
			if tt.before != nil {
				tt.before()
			}
			auth := basicAuth(DefaultClientID, DefaultClientSecret)
			if tt.auth != nil {
				auth = tt.auth
			}
			status, _, body := postJSON(t, s, "/token", form, auth)
			wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		})
	}
}

func TestClientAuthentication(t *testing.T) {
	const odd = "a b:c%"
	s := newTestServer(t, Config{Clients: []Client{
		{ID: odd, Secret: odd},
		{ID: "post", Secret: "post-secret", AuthMethod: "client_secret_post"},
		{ID: "public"},
	}})
	postAuth := func(id, secret string) func(url.Values) {
		return func(f url.Values) { f.Set("client_id", id); f.Set("client_secret", secret) }
	}
	tests := []struct {
		name   string
		client string
		auth   func(*http.Request)
		form   func(url.Values)
		ok     bool
	}{
		{name: "basic, special characters", client: odd, auth: basicAuth(odd, odd), ok: true},
		{name: "basic, not form-encoded", client: odd, auth: func(r *http.Request) { r.SetBasicAuth("a b:c%", odd) }},
		{name: "basic, wrong secret", client: odd, auth: basicAuth(odd, "wrong")},
		{name: "basic client using post", client: odd, form: postAuth(odd, odd)},
		{name: "basic client using none", client: odd, form: func(f url.Values) { f.Set("client_id", odd) }},
		{name: "basic and post at once", client: odd, auth: basicAuth(odd, odd), form: postAuth(odd, odd)},
		{name: "post", client: "post", form: postAuth("post", "post-secret"), ok: true},
		{name: "post, wrong secret", client: "post", form: postAuth("post", "nope")},
		{name: "post client using basic", client: "post", auth: basicAuth("post", "post-secret")},
		{name: "none", client: "public", form: func(f url.Values) { f.Set("client_id", "public") }, ok: true},
		{name: "none with a secret", client: "public", form: postAuth("public", "x")},
		{name: "no authentication", client: "public"},
		{name: "unknown client", client: "public", form: func(f url.Values) { f.Set("client_id", "ghost") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlow(s)
			f.clientID = tt.client
			form := url.Values{
				"grant_type":    {"authorization_code"},
				"code":          {f.code(t)},
				"redirect_uri":  {f.redirectURI},
				"code_verifier": {f.verifier},
			}
			if tt.form != nil {
				tt.form(form)
			}
			status, h, body := postJSON(t, s, "/token", form, tt.auth)
			if tt.ok {
				if status != http.StatusOK {
					t.Fatalf("got %d %v, want 200", status, body)
				}
				wantEqual(t, "aud", mustVerify(t, s, body["id_token"].(string))["aud"], tt.client)
				return
			}
			wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
			if h.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

func TestTokenRequestErrors(t *testing.T) {
	s := newTestServer(t, Config{})
	auth := basicAuth(DefaultClientID, DefaultClientSecret)

	resp, _ := get(t, s, "/token", auth)
	wantEqual(t, "GET status", resp.StatusCode, http.StatusMethodNotAllowed)

	req, _ := http.NewRequest(http.MethodPost, s.URL+"/token", strings.NewReader(`{"grant_type":"authorization_code"}`))
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	wantEqual(t, "JSON body status", resp.StatusCode, http.StatusBadRequest)

	status, _, body := postJSON(t, s, "/token", url.Values{"grant_type": {"password"}}, auth)
	wantOAuthError(t, status, body, http.StatusBadRequest, "unsupported_grant_type")
	status, _, body = postJSON(t, s, "/token", url.Values{}, auth)
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_request")
	status, _, body = postJSON(t, s, "/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, auth)
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
}
