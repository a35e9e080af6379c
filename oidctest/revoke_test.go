package oidctest

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRevocation(t *testing.T) {
	auth := basicAuth(DefaultClientID, DefaultClientSecret)
	tests := []struct {
		name        string
		token       string // "access", "refresh" or a literal
		hint        string
		auth        func(*http.Request)
		status      int
		accessGone  bool
		refreshGone bool
	}{
		{name: "refresh token", token: "refresh", status: 200, accessGone: true, refreshGone: true},
		{name: "refresh token, hint", token: "refresh", hint: "refresh_token", status: 200, accessGone: true, refreshGone: true},
		{name: "refresh token, wrong hint", token: "refresh", hint: "access_token", status: 200, accessGone: true, refreshGone: true},
		{name: "access token", token: "access", hint: "access_token", status: 200, accessGone: true},
		{name: "unknown token", token: "nope", status: 200},
		{name: "unknown hint", token: "refresh", hint: "id_token", status: 200, accessGone: true, refreshGone: true},
		{name: "another client's token", token: "refresh", auth: basicAuth("other", "x"), status: 200},
		{name: "wrong secret", token: "refresh", auth: basicAuth(DefaultClientID, "nope"), status: 401},
		{name: "no client authentication", token: "refresh", auth: func(*http.Request) {}, status: 401},
		{name: "no token", token: "", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, Config{})
			s.AddClient(Client{ID: "other", Secret: "x"})
			tokens := newFlow(s).tokens(t)
			at, rt := tokens["access_token"].(string), tokens["refresh_token"].(string)
			form := url.Values{"token": {map[string]string{"access": at, "refresh": rt}[tt.token]}}
			if form.Get("token") == "" {
				form.Set("token", tt.token)
			}
			if tt.hint != "" {
				form.Set("token_type_hint", tt.hint)
			}
			a := auth
			if tt.auth != nil {
				a = tt.auth
			}
			resp, _ := post(t, s, "/revoke", form, a)
			wantEqual(t, "status", resp.StatusCode, tt.status)

			status, _ := getJSON(t, s, "/userinfo", bearer(at))
			wantEqual(t, "access token gone", status == http.StatusUnauthorized, tt.accessGone)
			wantEqual(t, "Revoked(access token)", s.Revoked(at), tt.accessGone)
			status, body := refresh(t, s, rt)
			wantEqual(t, "refresh token gone", status == http.StatusBadRequest, tt.refreshGone)
			if tt.refreshGone {
				wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
			}
			wantEqual(t, "Revoked(refresh token)", s.Revoked(rt), tt.refreshGone)
		})
	}
}

func TestRevokeRefreshRevokesRefreshedAccessTokens(t *testing.T) {
	s := newTestServer(t, Config{RotateRefreshTokens: true})
	tokens := newFlow(s).tokens(t)
	_, body := refresh(t, s, tokens["refresh_token"].(string))
	rt := body["refresh_token"].(string)
	resp, _ := post(t, s, "/revoke", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"}},
		basicAuth(DefaultClientID, DefaultClientSecret))
	wantEqual(t, "status", resp.StatusCode, http.StatusOK)
	for _, at := range []any{tokens["access_token"], body["access_token"]} {
		status, _ := getJSON(t, s, "/userinfo", bearer(at))
		wantEqual(t, "userinfo", status, http.StatusUnauthorized)
		wantEqual(t, "Revoked", s.Revoked(at.(string)), true)
	}
	status, b := refresh(t, s, rt)
	wantOAuthError(t, status, b, http.StatusBadRequest, "invalid_grant")
	wantEqual(t, "Revoked(unknown)", s.Revoked("nope"), false)
}

func TestCodeReplayRevokes(t *testing.T) {
	s := newTestServer(t, Config{})
	f := newFlow(s)
	code := f.code(t)
	_, _, tokens := f.redeem(t, code)
	f.redeem(t, code)
	for _, k := range []string{"access_token", "refresh_token"} {
		wantEqual(t, "Revoked("+k+")", s.Revoked(tokens[k].(string)), true)
	}
}
