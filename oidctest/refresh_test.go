package oidctest

import (
	"net/http"
	"testing"
	"time"
)

func TestRefreshKeepsSessionClaims(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		name := map[bool]string{false: "not rotated", true: "rotated"}[rotate]
		t.Run(name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			s := newTestServer(t, Config{Now: clk.Now, RotateRefreshTokens: rotate,
				AccessTokenLifetime: 5 * time.Minute, IDTokenLifetime: 10 * time.Minute})
			tokens := newFlow(s).tokens(t)
			first := mustVerify(t, s, tokens["id_token"].(string))
			wantEqual(t, "expires_in", tokens["expires_in"], 300.0)
			rt := tokens["refresh_token"].(string)
			for i := range 3 {
				clk.Add(time.Hour)
				status, body := refresh(t, s, rt)
				if status != http.StatusOK {
					t.Fatalf("refresh %d: %d %v", i, status, body)
				}
				wantEqual(t, "expires_in", body["expires_in"], 300.0)
				next, _ := body["refresh_token"].(string)
				if rotated := next != rt; rotated != rotate || next == "" {
					t.Fatalf("refresh %d: refresh_token %q after %q, rotation %v", i, next, rt, rotate)
				}
				c := mustVerify(t, s, body["id_token"].(string))
				for _, k := range []string{"iss", "sub", "aud", "azp", "sid", "auth_time", "acr"} {
					wantEqual(t, k, c[k], first[k])
				}
				now := float64(clk.Now().Unix())
				wantEqual(t, "iat", c["iat"], now)
				wantEqual(t, "exp", c["exp"], now+600)
				if _, ok := c["nonce"]; ok {
					t.Error("refreshed ID token has a nonce")
				}
				status, _ = getJSON(t, s, "/userinfo", bearer(body["access_token"]))
				wantEqual(t, "userinfo with the new access token", status, http.StatusOK)
				if rotate {
					status, body = refresh(t, s, rt)
					wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
					if s.Revoked(rt) {
						t.Error("a rotated refresh token counts as revoked")
					}
				}
				rt = next
			}
		})
	}
}

func TestRefreshOfAnotherClient(t *testing.T) {
	s := newTestServer(t, Config{})
	s.AddClient(Client{ID: "other", Secret: "x"})
	tokens := newFlow(s).tokens(t)
	status, _, body := postJSON(t, s, "/token", map[string][]string{
		"grant_type":    {"refresh_token"},
		"refresh_token": {tokens["refresh_token"].(string)},
	}, basicAuth("other", "x"))
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
}
